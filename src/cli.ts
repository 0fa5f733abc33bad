import pkg from "../package.json" with { type: "json" };
import { createApp } from "./app";
import { buildServices } from "./composition-root";
import { configHelp } from "./config/docs";
import { type Config, ConfigError, loadConfig } from "./config/index";
import { formatDuration } from "./lib/duration";
import { releaseWhenIdle } from "./lib/idle-release";
import { createLogger } from "./observability/logger";

const USAGE = `otp-gateway ${pkg.version}: send one-time codes by SMS (StartMessaging) and verify them.

Usage: otp-gateway [command]

Commands:
  serve          Start the gateway (the default). Swagger UI at /swagger, OpenAPI at /swagger/json.
  healthcheck    Exit 0 when a gateway answers /healthz on HOST:PORT, 1 otherwise (for container HEALTHCHECK).
  openapi        Print the OpenAPI document (admin routes included) and exit.
  --version      Print the version and exit.
  --help         Print this help and exit.

With no configuration the gateway keeps its state in memory and uses the console provider,
which prints codes instead of sending SMS (refused when NODE_ENV=production unless
OTP_PROVIDER=console is set; compiled binaries default to NODE_ENV=production).

Environment:
`;

const MEMORY_NOTE = `
Memory: the Bun runtime reads BUN_JSC_forceRAMSize (bytes) at start and sizes its heap for it.
The container image sets 150000000: a flood of distinct client addresses then peaks near
100 MiB instead of about 115, for a few % more CPU. Set it for a bare binary the same way.
`;

const rssMiB = () => Math.round(process.memoryUsage.rss() / 1048576);

type Out = (text: string) => void;
const stdout: Out = (text) => process.stdout.write(text);
const stderr: Out = (text) => process.stderr.write(text);

/** Runs one command; resolves to the process exit code (serve resolves once stopped). */
export async function runCli(argv: string[]): Promise<number> {
  const command = argv[0] ?? "serve";
  switch (command) {
    case "serve":
      return serve();
    case "healthcheck":
      return healthcheck();
    case "openapi":
      return printOpenapi();
    case "--version":
    case "-v":
      stdout(`otp-gateway ${pkg.version} (bun ${Bun.version}, ${process.platform}-${process.arch})\n`);
      return 0;
    case "--help":
    case "-h":
    case "help":
      stdout(`${USAGE}${configHelp()}\n${MEMORY_NOTE}`);
      return 0;
    default:
      stderr(`otp-gateway: unknown command ${JSON.stringify(command)}; see otp-gateway --help\n`);
      return 2;
  }
}

function configOrExit(source: Record<string, string | undefined> = process.env): Config | undefined {
  try {
    return loadConfig(source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    stderr(`otp-gateway: ${err.message}\n`);
    return undefined;
  }
}

/** Set in the environment of the processes a WORKERS > 1 primary starts: the primary's pid. */
const WORKER_ENV = "OTP_GATEWAY_PRIMARY_PID";

async function serve(): Promise<number> {
  const config = configOrExit();
  if (!config) return 1;
  if (config.WORKERS > 1 && !process.env[WORKER_ENV]) return supervise(config.WORKERS);
  // A worker checks its primary from the start: one that dies while the worker is still
  // starting would otherwise leave it orphaned with a parent pid that never changes again.
  const primary = process.env[WORKER_ENV] ? Number(process.env[WORKER_ENV]) : undefined;
  if (primary !== undefined && process.ppid !== primary) return 1;
  const deps = buildServices(config);
  // The routes are put together while the store connects (Redis's replies wait for this turn to end).
  const app = createApp(deps);
  // Start even when Redis is down: /readyz says so, sends fail closed, and the store reconnects by itself.
  if (!(await deps.store.connected(3_000))) {
    deps.logger.error("the store is not reachable yet; sends answer 503 until it is", {
      store: deps.store.kind,
      problem: deps.store.problem?.(),
    });
  }
  // reusePort: with WORKERS > 1 every worker binds the same port and the kernel spreads connections.
  app.listen({ port: config.PORT, hostname: config.HOST, reusePort: config.WORKERS > 1 });
  deps.metrics.watchInFlight(() => app.server?.pendingRequests ?? 0);
  // Once idle after start, and after each busy stretch: start-up's code and garbage are not kept.
  const stopReleasing = releaseWhenIdle({
    onRelease: () => deps.logger.debug("idle: compiled code and free memory released", { rssMiB: rssMiB() }),
  });
  const url = `http://${browsable(config.HOST)}:${app.server?.port}`;
  deps.logger.info("otp-gateway listening", {
    url,
    version: pkg.version,
    provider: deps.provider.name,
    store: deps.store.kind,
    upstreamTimeout: formatDuration(config.UPSTREAM_TIMEOUT),
    docs: config.DOCS_ACCESS === "off" ? "off" : `${url}/swagger`,
  });
  if (deps.provider.name === "console") {
    const limit = config.IP_SEND_LIMITS?.map((w) => w.label).join(",");
    deps.logger.info("console provider: codes are printed in this log, no SMS is sent", {
      perAddressLimit: limit ?? "off",
      ...(limit ? { raiseItWith: "IP_SEND_LIMITS=100/1m" } : {}),
    });
  }

  return new Promise((resolve) => {
    const shutdown = async (signal: string) => {
      deps.logger.info("shutting down: no new connections, finishing requests in flight", {
        signal,
        grace: formatDuration(config.SHUTDOWN_GRACE),
      });
      // In-flight requests get SHUTDOWN_GRACE; whatever is still open then is cut.
      let timer: Timer | undefined;
      const graceful = app.stop().then(() => true);
      const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), config.SHUTDOWN_GRACE)));
      if (!(await Promise.race([graceful, expired]))) {
        deps.logger.warn("grace period over: closing the connections still open");
        await app.stop(true);
      }
      clearTimeout(timer);
      stopReleasing();
      await deps.store.close();
      deps.logger.info("stopped");
      resolve(0);
    };
    process.once("SIGTERM", () => void shutdown("SIGTERM"));
    process.once("SIGINT", () => void shutdown("SIGINT"));
    // A worker whose primary died (SIGKILL, OOM) must not keep the port: it stops itself.
    if (primary !== undefined) {
      setInterval(() => {
        if (process.ppid !== primary) process.kill(process.pid, "SIGTERM");
      }, 1_000).unref();
    }
  });
}

/**
 * The primary of WORKERS > 1: starts that many copies of this program, passes
 * SIGTERM / SIGINT on, and exits when they have. A worker that dies on its own
 * takes the others down (exit 1), so the orchestrator restarts a whole gateway.
 */
async function supervise(count: number): Promise<number> {
  // A compiled binary is its own runtime; from source, bun needs the entry file again.
  const self = Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
  const workers = Array.from({ length: count }, () =>
    Bun.spawn([...self, "serve"], {
      env: { ...process.env, [WORKER_ENV]: String(process.pid) },
      stdout: "inherit",
      stderr: "inherit",
    }),
  );
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of workers) worker.kill(signal);
  };
  process.once("SIGTERM", () => stopAll("SIGTERM"));
  process.once("SIGINT", () => stopAll("SIGINT"));
  const first = await Promise.race(workers.map((w) => w.exited));
  if (!stopping) {
    stderr(`otp-gateway: a worker exited (${first}); stopping the others\n`);
    stopAll("SIGTERM");
  }
  const codes = await Promise.all(workers.map((w) => w.exited));
  return stopping && codes.every((c) => c === 0) ? 0 : 1;
}

/** A bind address as somewhere to connect to: loopback for a wildcard, brackets around IPv6. */
function browsable(host: string): string {
  const reachable = ["0.0.0.0", "::", "[::]"].includes(host) ? "127.0.0.1" : host;
  return reachable.includes(":") && !reachable.startsWith("[") ? `[${reachable}]` : reachable;
}

async function healthcheck(): Promise<number> {
  // Only the address and port, checked as `serve` checks them: a shell (or an image's HEALTHCHECK)
  // without the server's other settings and secrets can run it.
  const config = configOrExit({
    PORT: process.env.PORT,
    HOST: process.env.HOST,
    OTP_PROVIDER: "console",
    NODE_ENV: "development",
  });
  if (!config) return 1;
  const url = `http://${browsable(config.HOST)}:${config.PORT}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (res.status === 200) return 0;
    stderr(`otp-gateway healthcheck: ${url} answered ${res.status}\n`);
  } catch (err) {
    stderr(`otp-gateway healthcheck: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return 1;
}

async function printOpenapi(): Promise<number> {
  // The document depends only on the routes: build them with quiet, offline parts
  // (console provider, memory store), whatever this environment says.
  // The whole contract: the admin routes too (a gateway serves them only with ADMIN_TOKEN set).
  const config = loadConfig({
    OTP_PROVIDER: "console",
    NODE_ENV: "development",
    ADMIN_TOKEN: "x".repeat(32),
  });
  const deps = buildServices(config, createLogger({ level: "silent" }));
  // No socket here: the request below comes from this process.
  const app = createApp({ ...deps, http: { ...deps.http, peerAddress: () => "127.0.0.1" } });
  const res = await app.handle(new Request("http://localhost/swagger/json"));
  stdout(`${JSON.stringify(await res.json(), null, 2)}\n`);
  return 0;
}
