import { createApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { configHelp } from "./config-docs";
import { formatDuration } from "./lib/duration";
import { buildServices } from "./services";

const USAGE = `otp-gateway: send one-time codes by SMS (StartMessaging) and verify them.

Usage: otp-gateway [--help]
  Starts the gateway. Swagger UI at /swagger, OpenAPI document at /swagger/json.
  With no configuration: in-memory state and the console provider, which prints codes instead of sending SMS.

Environment:
`;

/** Starts the gateway from the environment. Exits 1 with a readable message on a bad configuration. */
async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(`${USAGE}${configHelp()}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`otp-gateway: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const deps = buildServices(config);
  // Start even when Redis is down: /readyz says so, sends fail closed, and the store reconnects by itself.
  if (!(await deps.store.connected(3_000))) deps.logger.error("the store is not reachable yet; sends answer 503 until it is", { store: deps.store.kind });
  const app = createApp(deps).listen({ port: config.PORT, hostname: config.HOST });
  deps.logger.info("otp-gateway listening", {
    url: `http://${config.HOST}:${app.server?.port}`,
    provider: deps.provider.name,
    store: deps.store.kind,
    upstreamTimeout: formatDuration(config.UPSTREAM_TIMEOUT_MS),
    docs: "/swagger",
  });
  const stop = async (signal: string) => {
    deps.logger.info("shutting down", { signal });
    await app.stop();
    await deps.store.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

await main();
