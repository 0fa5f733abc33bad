import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { freePort, run as runCommand, waitHealthy } from "../../scripts/lib/local";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { flushSharedRedis, RedisProcess, SHARED_REDIS_URL } from "../support/redis";
import { rawRequest } from "../support/socket";

/**
 * End to end against the compiled binary, not the sources: built here with the
 * same script the Dockerfile runs.
 */
const ROOT = new URL("../..", import.meta.url).pathname;
const BINARY = join(ROOT, "dist/otp-gateway");
const ARM64 = join(ROOT, "dist/otp-gateway-linux-arm64");
const QEMU = "/usr/bin/qemu-aarch64-static";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

const run = (cmd: string[], env: Record<string, string> = {}) =>
  runCommand(cmd, { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env } });

async function build(target: string) {
  const result = await run(["bash", join(ROOT, "scripts/build.sh"), target]);
  if (result.code !== 0) throw new Error(`build ${target} failed:\n${result.stderr}`);
}

/** A running gateway binary; `stop` sends SIGTERM and returns the exit code and its output. */
async function startGateway(env: Record<string, string>, cmd: string[] = [BINARY]) {
  const port = await freePort();
  const proc = Bun.spawn(cmd, {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: String(port), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = new Response(proc.stdout).text();
  await waitHealthy(port);
  return {
    port,
    pid: proc.pid,
    url: `http://127.0.0.1:${port}`,
    async stop(): Promise<{ code: number; output: string }> {
      proc.kill("SIGTERM");
      return { code: await proc.exited, output: await output };
    },
  };
}

/** The child processes of `pid`, polled until its two workers are there (about a second at most). */
async function workersOf(pid: number): Promise<number[]> {
  let children: number[] = [];
  for (let i = 0; i < 200 && children.length < 2; i++) {
    children = (await Bun.file(`/proc/${pid}/task/${pid}/children`).text())
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    if (children.length < 2) await Bun.sleep(5);
  }
  return children;
}

/** Whether a process is still running (not gone, not a zombie). */
const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, "utf8"));

/** A process's state and parent, for a failure message. */
const processState = (pid: number) =>
  existsSync(`/proc/${pid}`)
    ? readFileSync(`/proc/${pid}/status`, "utf8")
        .match(/State:\s+\S+|PPid:\s+\d+/g)
        ?.join(" ")
    : "gone";

const fake = new FakeStartMessaging();
const upstreamEnv = () => ({
  STARTMESSAGING_API_KEY: "sm_test_fake_key",
  STARTMESSAGING_BASE_URL: fake.url,
  REDIS_URL: SHARED_REDIS_URL,
});

beforeAll(async () => {
  await Promise.all([build("native"), fake.start(), flushSharedRedis()]);
}, 60_000);
afterAll(() => fake.stop());

describe("the compiled binary", () => {
  test("--version and --help", async () => {
    const version = await run([BINARY, "--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^otp-gateway \d+\.\d+\.\d+ \(bun [\d.]+, linux-x64\)/);
    const help = await run([BINARY, "--help"]);
    expect(help.code).toBe(0);
    for (const word of [
      "serve",
      "healthcheck",
      "openapi",
      "STARTMESSAGING_API_KEY",
      "REDIS_URL",
      "SHUTDOWN_GRACE",
      "PHONE_SEND_LIMITS",
    ])
      expect(help.stdout).toContain(word);
  });

  test("idle after start, it releases start-up's code and garbage: anonymous memory falls", async () => {
    const anonKiB = (pid: number) =>
      Number(/Pss_Anon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1]);
    const gateway = await startGateway({ OTP_PROVIDER: "console", LOG_LEVEL: "debug" });
    let before = 0;
    let after = 0;
    let stopped: Awaited<ReturnType<typeof gateway.stop>> | undefined;
    try {
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
      before = anonKiB(gateway.pid);
      after = before;
      // The first idle 5-second interval after start (the second at worst): poll, no fixed sleep.
      for (let waited = 0; waited < 16_000 && after > before - 1024; waited += 250) {
        await Bun.sleep(250);
        after = anonKiB(gateway.pid);
      }
    } finally {
      stopped = await gateway.stop();
    }
    expect(stopped.code).toBe(0);
    expect(stopped.output).toContain('"msg":"idle: compiled code and free memory released"');
    expect(after, `anonymous memory ${before} KiB before, ${after} KiB after`).toBeLessThan(before - 1024);
  }, 30_000);

  test("a bad configuration exits non-zero and names the variable", async () => {
    const result = await run([BINARY], { ...upstreamEnv(), UPSTREAM_TIMEOUT: "ten seconds" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("UPSTREAM_TIMEOUT");
  });

  test("defaults to production: without a key it refuses the console provider unless asked for", async () => {
    const refused = await run([BINARY]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("OTP_PROVIDER");
    const gateway = await startGateway({ OTP_PROVIDER: "console" });
    expect((await gateway.stop()).code).toBe(0);
  });

  test("sends and verifies through the fake upstream with Redis, then stops cleanly", async () => {
    const gateway = await startGateway(upstreamEnv());
    const send = await fetch(`${gateway.url}/v1/otp/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"phone":"+919876501001"}',
    });
    expect(send.status, await send.clone().text()).toBe(200);
    const { verificationId: requestId } = (await send.json()) as { verificationId: string };
    const verify = await fetch(`${gateway.url}/v1/otp/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ verificationId: requestId, code: fake.codeFor(requestId) }),
    });
    expect(await verify.json()).toEqual({ verified: true });
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    const swagger = await fetch(`${gateway.url}/swagger/assets/swagger-ui-bundle.js`);
    expect(swagger.status).toBe(200);
    expect((await swagger.text()).length).toBeGreaterThan(100_000);
    const { code, output } = await gateway.stop();
    expect(code).toBe(0);
    expect(output).not.toContain("+919876501001");
    expect(output).not.toContain("sm_test_fake_key");
  });

  test("a refused Redis password: /readyz names it, the log says so at error level and repeats it, never the password", async () => {
    const server = await new RedisProcess(await freePort(), [], { password: "the-right-secret" }).start();
    try {
      const gateway = await startGateway({
        ...upstreamEnv(),
        REDIS_URL: `redis://:a-wrong-secret@127.0.0.1:${server.port}`,
      });
      const ready = await fetch(`${gateway.url}/readyz`);
      const body = (await ready.json()) as { checks: { store: { ok: boolean; detail: string } } };
      expect(ready.status).toBe(503);
      expect(body.checks.store).toEqual({ ok: false, detail: expect.stringContaining("password") });
      const send = await fetch(`${gateway.url}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"phone":"+919876501002"}',
      });
      expect(send.status).toBe(503);
      const { output } = await gateway.stop();
      const refused = output
        .split("\n")
        .filter((line) => line.includes('"level":"error"') && line.includes("refused the gateway's login"));
      expect(refused.length, output).toBeGreaterThanOrEqual(1);
      expect(output).not.toContain("a-wrong-secret");
      expect(output).not.toContain("the-right-secret");
    } finally {
      await server.stop();
    }
  });

  test("the HTTP edge holds in the binary: Host spellings keep the per-IP limit; 413 and 405 are problems", async () => {
    fake.reset();
    const gateway = await startGateway({ ...upstreamEnv(), ALLOWED_COUNTRIES: "IN" });
    try {
      const body = (i: number) => JSON.stringify({ phone: `+9198765${String(10_000 + i).padStart(5, "0")}` });
      const post = (target: string, host: string, b: string) =>
        rawRequest(
          gateway.port,
          `POST ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${b.length}`,
          b,
        );
      // First, while the address has budget: every POST meets the per-IP limit before its size.
      const big = await post("/v1/otp/send", "localhost", "x".repeat(100_000));
      expect([big.status, big.headers.get("content-type")]).toEqual([413, "application/problem+json"]);
      let i = 0;
      for (const [target, host] of [
        ["/v1/otp/send", "localhost"],
        ["/verify/v1/otp/send", "x"],
        ["/x/verify01/v1/otp/send", "a b"],
      ] as const)
        for (let n = 0; n < 8; n++) expect((await post(target, host, body(i++))).status).toBeLessThan(500);
      expect(fake.sms.length).toBeLessThanOrEqual(5); // IP_SEND_LIMITS' default: 5/1m, the 413 among them
      // In production mode (the binary's default) too, a deep body is a clean 400, not Bun's bare 500.
      const deep = `{"verificationId":${"[".repeat(8000)}${"]".repeat(8000)},"code":"123456"}`;
      const nested = await rawRequest(
        gateway.port,
        `POST /v1/otp/verify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${deep.length}`,
        deep,
      );
      expect([nested.status, nested.headers.get("content-type")]).toEqual([400, "application/problem+json"]);
      const get = await rawRequest(gateway.port, "GET /v1/otp/send HTTP/1.1\r\nHost: localhost");
      expect([get.status, get.headers.get("allow")]).toEqual([405, "POST, OPTIONS"]);
    } finally {
      await gateway.stop();
    }
  });

  test("SIGTERM during a send in flight: the send completes, then the process exits 0", async () => {
    const gateway = await startGateway(upstreamEnv());
    fake.fail("/otp/send", { kind: "delay", ms: 700 });
    const inFlight = fetch(`${gateway.url}/v1/otp/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"phone":"+919876501002"}',
    });
    await Bun.sleep(200);
    const stopped = gateway.stop();
    const res = await inFlight;
    expect(res.status, await res.clone().text()).toBe(200);
    const { code, output } = await stopped;
    expect(code).toBe(0);
    expect(output).toContain('"msg":"stopped"');
    // Stopped means not listening.
    expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
  });

  test("a slow log reader loses no line: the log is drained before the process exits", async () => {
    // stdout goes to a FIFO whose reader starts reading only after 4 s, so the pipe fills up
    // (a log collector falling behind); Bun.spawn's own pipes are read eagerly and would not.
    const dir = mkdtempSync(join(tmpdir(), "otp-slowlog-"));
    const fifo = join(dir, "stdout");
    const captured = join(dir, "captured");
    try {
      expect((await run(["mkfifo", fifo])).code).toBe(0);
      const reader = Bun.spawn(["sh", "-c", 'exec 3<"$0"; sleep 4; cat <&3 > "$1"', fifo, captured]);
      const port = await freePort();
      const proc = Bun.spawn(["sh", "-c", 'exec "$0" > "$1"', BINARY, fifo], {
        env: {
          PATH: process.env.PATH ?? "",
          HOST: "127.0.0.1",
          PORT: String(port),
          OTP_PROVIDER: "console",
          IP_SEND_LIMITS: "10000/1s",
          IPV4_SUBNET_SEND_LIMITS: "10000/1s",
        },
        stderr: "ignore",
      });
      await waitHealthy(port);
      const requests = 1_500; // ~400 KB of request lines, several pipe buffers
      for (let i = 0; i < requests; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, () =>
            fetch(`http://127.0.0.1:${port}/v1/otp/send`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: "{}",
            }).then((r) => r.text()),
          ),
        );
      }
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      await reader.exited;
      const output = await Bun.file(captured).text();
      expect(
        output
          .split("\n")
          .filter((l) => l.includes('"msg":"request"') && l.includes('"path":"/v1/otp/send"')),
      ).toHaveLength(requests);
      expect(output).toContain('"msg":"stopped"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("WORKERS=2: workers stop by themselves when their primary is killed, also while they start", async () => {
    for (const waitForHealthy of [true, false]) {
      const port = await freePort();
      const primary = Bun.spawn([BINARY], {
        env: {
          PATH: process.env.PATH ?? "",
          HOST: "127.0.0.1",
          PORT: String(port),
          OTP_PROVIDER: "console",
          WORKERS: "2",
          REDIS_URL: SHARED_REDIS_URL,
        },
        stdout: "ignore",
        stderr: "ignore",
      });
      if (waitForHealthy) await waitHealthy(port);
      const children = await workersOf(primary.pid);
      expect(children).toHaveLength(2);
      primary.kill("SIGKILL");
      await primary.exited;
      const deadline = Date.now() + 6_000;
      while (children.some(alive) && Date.now() < deadline) await Bun.sleep(100);
      expect(
        children.filter(alive),
        `after ${waitForHealthy ? "start" : "spawn"}: ${children.map(processState).join(" | ")}`,
      ).toEqual([]);
    }
  }, 30_000);

  test("healthcheck, with only PORT set, exits 0 while a gateway answers and 1 when none does", async () => {
    const gateway = await startGateway({ OTP_PROVIDER: "console" });
    // A shell without the server's settings: production by default, no provider key.
    const up = await run([BINARY, "healthcheck"], { PORT: String(gateway.port) });
    expect(up.code, up.stderr).toBe(0);
    await gateway.stop();
    const down = await run([BINARY, "healthcheck"], { PORT: String(gateway.port) });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("/healthz");
    const wrong = await run([BINARY, "healthcheck"], { PORT: "http" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("PORT");
  });

  test("openapi prints a valid OpenAPI 3 document", async () => {
    const result = await run([BINARY, "openapi"]);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.openapi).toMatch(/^3\./);
    const validation = await new Validator().validate(doc);
    expect(validation.errors ?? [], JSON.stringify(validation.errors, null, 2)).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(Object.keys(doc.paths)).toContain("/v1/otp/send");
  });
});

describe("the linux-arm64 binary under qemu user emulation", () => {
  beforeAll(async () => {
    if (!existsSync(QEMU) || !existsSync(`${ARM64_SYSROOT}/lib/ld-linux-aarch64.so.1`)) {
      throw new Error(
        `needs ${QEMU} and an arm64 glibc in ${ARM64_SYSROOT}: apt-get install qemu-user-static libc6-arm64-cross (scripts/setup.sh does)`,
      );
    }
    await build("linux-arm64");
  }, 120_000);

  const qemu = [QEMU, "-L", ARM64_SYSROOT, ARM64];

  test("--version says linux-arm64", async () => {
    const result = await run([...qemu, "--version"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("linux-arm64");
  }, 30_000);

  test("answers /healthz and stops on SIGTERM", async () => {
    const gateway = await startGateway({ OTP_PROVIDER: "console" }, qemu);
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toEqual({ status: "ok" });
    expect((await gateway.stop()).code).toBe(0);
  }, 30_000);
});

describe("the Dockerfile's build stage, run here", () => {
  test("its commands, from only the files .dockerignore lets in, build both architectures", async () => {
    const dockerfile = await Bun.file(join(ROOT, "Dockerfile")).text();
    expect(dockerfile).toContain("RUN bun install --frozen-lockfile --production");
    expect(dockerfile).toContain('bash scripts/build.sh "$target"');
    const context = mkdtempSync(join(tmpdir(), "otp-docker-"));
    try {
      for (const path of ["package.json", "bun.lock", "tsconfig.json", "src", "scripts/build.sh"]) {
        cpSync(join(ROOT, path), join(context, path), { recursive: true });
      }
      const inContext = (cmd: string[]) => {
        const proc = Bun.spawn(cmd, {
          cwd: context,
          env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
          stdout: "pipe",
          stderr: "pipe",
        });
        return Promise.all([proc.exited, new Response(proc.stderr).text()]);
      };
      const [installed, installErr] = await inContext([
        "bun",
        "install",
        "--frozen-lockfile",
        "--production",
      ]);
      expect(installed, installErr).toBe(0);
      for (const target of ["linux-x64", "linux-arm64"]) {
        const [built, buildErr] = await inContext(["bash", "scripts/build.sh", target]);
        expect(built, buildErr).toBe(0);
        expect(existsSync(join(context, `dist/otp-gateway-${target}`))).toBe(true);
      }
      const version = await run([join(context, "dist/otp-gateway-linux-x64"), "--version"]);
      expect(version.stdout).toContain("linux-x64");
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }, 120_000);
});
