// `bun run soak -- --minutes N [--image-heap]`: mixed load on the compiled gateway for N minutes
// (default 2), with a private Redis and the fast fake upstream; --image-heap runs it with the JSC
// heap sizing the Dockerfile sets. Reports 5xx answers (0 expected without
// injected faults), RSS drift, open file descriptors and Redis keys (bounded: all expire).
import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, privateRedisArgs, rssMiB, waitHealthy } from "../scripts/lib/local";
import { must } from "../test/support/given";

const ROOT = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const minutes = args.includes("--minutes") ? Number(args[args.indexOf("--minutes") + 1]) : 2;
const seconds = Math.max(5, Math.round(minutes * 60));
const imageHeap = args.includes("--image-heap")
  ? /BUN_JSC_forceRAMSize=(\d+)/.exec(await Bun.file(join(ROOT, "Dockerfile")).text())?.[1]
  : undefined;

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

const build = Bun.spawn(["bash", "scripts/build.sh"], { cwd: ROOT, stdout: "ignore" });
if ((await build.exited) !== 0) throw new Error("build failed");
const [redisPort, upstreamPort, port] = [await freePort(), await freePort(), await freePort()];
const redisProc = Bun.spawn(privateRedisArgs(redisPort), { stdout: "ignore" });
const upstream = Bun.spawn(["bun", join(ROOT, "bench/fake-upstream.ts")], {
  env: { ...process.env, PORT: String(upstreamPort) },
  stdout: "ignore",
});
await Bun.sleep(300);
const gateway = Bun.spawn([join(ROOT, "dist/otp-gateway")], {
  env: {
    PATH: process.env.PATH ?? "",
    HOST: "127.0.0.1",
    PORT: String(port),
    STARTMESSAGING_API_KEY: "sm_soak",
    STARTMESSAGING_BASE_URL: `http://127.0.0.1:${upstreamPort}`,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    TRUST_PROXY: "1",
    LOG_LEVEL: "warn",
    ...(imageHeap ? { BUN_JSC_forceRAMSize: imageHeap } : {}),
  },
  stdout: "ignore",
  stderr: "ignore",
});
const script = join(tmpdir(), `otp-soak-${process.pid}.lua`);
const redis = new Redis(`redis://127.0.0.1:${redisPort}`);
try {
  await waitHealthy(port);
  const samples: { t: number; rss: number; fds: number; keys: number }[] = [];
  const sample = async (t: number) =>
    samples.push({ t, rss: rssMiB(gateway.pid), fds: fds(gateway.pid), keys: await redis.dbsize() });
  await sample(0);
  const started = Date.now();
  const parts = await Promise.all(
    ["threads.lua", "mixed.lua"].map((name) => Bun.file(join(ROOT, "bench/wrk", name)).text()),
  );
  await Bun.write(script, parts.join("\n"));
  const wrk = Bun.spawn(["wrk", "-t1", "-c16", `-d${seconds}s`, "-s", script, `http://127.0.0.1:${port}`], {
    stdout: "pipe",
  });
  const every = Math.max(5, Math.floor(seconds / 12)) * 1000;
  const timer = setInterval(() => void sample(Math.round((Date.now() - started) / 1000)), every);
  const out = await new Response(wrk.stdout).text();
  clearInterval(timer);
  await sample(Math.round((Date.now() - started) / 1000));
  const line = out.split("\n").find((l) => l.startsWith("SOAK_JSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const result = JSON.parse(line.slice("SOAK_JSON ".length));
  // Every key must expire: check them all, a pipelined batch at a time.
  let noTtl = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    const ttls = (await keys.reduce((p, key) => p.pttl(key), redis.pipeline()).exec()) ?? [];
    noTtl += ttls.filter(([, ttl]) => (ttl as number) < 0).length;
  } while (cursor !== "0");
  const first = must(samples[1] ?? samples[0], "a sample");
  const last = must(samples.at(-1), "a sample");
  console.log(`soak: ${seconds}s of mixed load, ${result.requests} requests`);
  console.log(JSON.stringify(result));
  console.log("t(s)  RSS MiB  fds  redis keys");
  for (const s of samples) {
    console.log(
      `${String(s.t).padStart(4)}  ${s.rss.toFixed(1).padStart(7)}  ${String(s.fds).padStart(3)}  ${s.keys}`,
    );
  }
  console.log(
    `5xx answers: ${result.server_5xx}; RSS drift after warm-up: ${(last.rss - first.rss).toFixed(1)} MiB; fds ${first.fds} → ${last.fds}; keys without TTL: ${noTtl}`,
  );
  process.exitCode = result.server_5xx === 0 && noTtl === 0 ? 0 : 1;
} finally {
  rmSync(script, { force: true });
  redis.disconnect();
  for (const p of [gateway, upstream, redisProc]) p.kill("SIGTERM");
}
