// Measures the compiled gateway against a baseline compiled in the same run (a bare
// Bun.serve answering /healthz, same flags), and writes the figures into docs/operations.md.
//   bun scripts/measure-binary.ts [--runs N] [--rss-runs N]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, median, memorySplitMiB, numberFlag, rssMiB, sh, writeBetweenMarkers } from "./lib/local";

const ROOT = new URL("..", import.meta.url).pathname;
const runs = numberFlag("runs", 15);
/** Memory figures are medians of this many starts (one start's RSS moves by 2-3 MiB here). */
const rssRuns = numberFlag("rss-runs", 5);

/**
 * ms from exec to the first 200 on /healthz, and RSS (MiB) 2 s after one send and verify served;
 * then 8 s after them (`rssIdleMiB`), once the gateway's idle release (src/lib/idle-release.ts) has run.
 */
async function measure(binary: string, env: Record<string, string>, warm: boolean) {
  const port = await freePort();
  const started = performance.now();
  const proc = Bun.spawn([binary], {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: String(port), ...env },
    stdout: "ignore",
    stderr: "ignore",
  });
  let readyMs = NaN;
  while (performance.now() - started < 10_000) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      await Bun.sleep(1);
    }
  }
  let rss = NaN;
  let anonMiB = NaN;
  let fileMiB = NaN;
  let rssIdleMiB = NaN;
  if (warm) {
    const post = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    await post("/v1/otp/send", { phone: "+919876543210" });
    await post("/v1/otp/verify", { verificationId: "otp_none", code: "123456" });
    await Bun.sleep(2_000);
    rss = rssMiB(proc.pid);
    ({ anon: anonMiB, file: fileMiB } = memorySplitMiB(proc.pid));
    await Bun.sleep(6_000);
    rssIdleMiB = rssMiB(proc.pid);
  }
  proc.kill("SIGTERM");
  await proc.exited;
  return { readyMs, rssMiB: rss, anonMiB, fileMiB, rssIdleMiB };
}

/** measure() with warm-up and memory, `rssRuns` times: the median of each figure. */
async function memoryOf(binary: string, env: Record<string, string>) {
  const samples: Awaited<ReturnType<typeof measure>>[] = [];
  for (let i = 0; i < rssRuns; i++) samples.push(await measure(binary, env, true));
  const mid = (key: keyof (typeof samples)[number]) => median(samples.map((s) => s[key]));
  return {
    readyMs: mid("readyMs"),
    rssMiB: mid("rssMiB"),
    anonMiB: mid("anonMiB"),
    fileMiB: mid("fileMiB"),
    rssIdleMiB: mid("rssIdleMiB"),
  };
}

const work = mkdtempSync(join(tmpdir(), "otp-measure-"));
try {
  await sh(["bash", "scripts/build.sh", "linux-x64"], ROOT);
  await sh(["bash", "scripts/build.sh", "linux-arm64"], ROOT);
  await sh(["bash", "scripts/build.sh"], ROOT);
  await Bun.write(
    join(work, "baseline.ts"),
    `Bun.serve({ hostname: process.env.HOST, port: Number(process.env.PORT), fetch: () => Response.json({ status: "ok" }) });\n`,
  );
  await sh(
    [
      "bun",
      "build",
      "baseline.ts",
      "--compile",
      "--minify",
      "--bytecode",
      "--format=esm",
      "--outfile",
      "baseline",
    ],
    work,
  );
  // Second baseline: the gateway's dependencies imported and nothing else (memory accounting).
  await Bun.write(
    join(work, "imports.ts"),
    [
      `import { Elysia } from "${ROOT}node_modules/elysia";`,
      `import "${ROOT}node_modules/ioredis";`,
      `import "${ROOT}node_modules/libphonenumber-js/max";`,
      `import { collectDefaultMetrics, Registry } from "${ROOT}node_modules/prom-client";`,
      `import "${ROOT}node_modules/lru-cache";`,
      `collectDefaultMetrics({ register: new Registry() });`,
      `new Elysia().get("/healthz", () => ({ status: "ok" })).listen({ hostname: process.env.HOST, port: Number(process.env.PORT) });`,
    ].join("\n"),
  );
  await sh(
    [
      "bun",
      "build",
      "imports.ts",
      "--compile",
      "--minify",
      "--bytecode",
      "--format=esm",
      "--outfile",
      "imports",
    ],
    work,
  );

  const gateway = join(ROOT, "dist/otp-gateway");
  const baseline = join(work, "baseline");
  const env = { OTP_PROVIDER: "console", LOG_LEVEL: "warn" };
  const results = { gateway: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so both see the same machine noise.
    results.baseline.push((await measure(baseline, env, false)).readyMs);
    results.gateway.push((await measure(gateway, env, false)).readyMs);
  }
  const gatewayRss = await memoryOf(gateway, env);
  const baselineRss = await memoryOf(baseline, env);
  const importsRss = await memoryOf(join(work, "imports"), env);
  // Production shape: StartMessaging provider and Redis, no in-memory store or console provider.
  const redisPort = await freePort();
  const redis = Bun.spawn(
    ["redis-server", "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdout: "ignore" },
  );
  await Bun.sleep(200);
  const prodEnv = {
    STARTMESSAGING_API_KEY: "sm_measure",
    STARTMESSAGING_BASE_URL: "http://127.0.0.1:9",
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LOG_LEVEL: "warn",
  };
  const prodRss = await memoryOf(gateway, prodEnv);
  // Ready in the production shape includes loading ioredis and connecting to Redis.
  const prodReady: number[] = [];
  for (let i = 0; i < Math.min(runs, 7); i++) {
    prodReady.push((await measure(gateway, prodEnv, false)).readyMs);
  }
  redis.kill();

  const mb = (path: string) => (statSync(path).size / 1e6).toFixed(1);
  const rows = [
    ["binary size, linux-x64", `${mb(join(ROOT, "dist/otp-gateway-linux-x64"))} MB`, `${mb(baseline)} MB`],
    ["binary size, linux-arm64", `${mb(join(ROOT, "dist/otp-gateway-linux-arm64"))} MB`, "–"],
    [
      `exec → first /healthz 200, console provider + memory store (median of ${runs})`,
      `${median(results.gateway).toFixed(0)} ms`,
      `${median(results.baseline).toFixed(0)} ms`,
    ],
    [
      `exec → first /healthz 200, StartMessaging + Redis on this host (median of ${prodReady.length})`,
      `${median(prodReady).toFixed(0)} ms`,
      "–",
    ],
    [
      `idle RSS, console provider + memory store (2 s after one send and one verify; medians of ${rssRuns} starts)`,
      `${gatewayRss.rssMiB.toFixed(0)} MiB`,
      `${baselineRss.rssMiB.toFixed(0)} MiB`,
    ],
    ["idle RSS, StartMessaging + Redis (same)", `${prodRss.rssMiB.toFixed(1)} MiB`, "–"],
    [
      "idle RSS 8 s after them (the gateway's idle release has run), console + memory / StartMessaging + Redis",
      `${gatewayRss.rssIdleMiB.toFixed(1)} / ${prodRss.rssIdleMiB.toFixed(1)} MiB`,
      `${baselineRss.rssIdleMiB.toFixed(0)} MiB`,
    ],
    [
      "of which anonymous (JS heap, malloc), StartMessaging + Redis",
      `${prodRss.anonMiB.toFixed(0)} MiB`,
      `${baselineRss.anonMiB.toFixed(0)} MiB`,
    ],
    [
      "of which pages of the binary file (code, embedded bundle; shared, reclaimable)",
      `${prodRss.fileMiB.toFixed(0)} MiB`,
      `${baselineRss.fileMiB.toFixed(0)} MiB`,
    ],
    [
      "idle RSS of the dependencies alone (elysia, ioredis, libphonenumber-js/max, prom-client with default metrics, lru-cache; one Elysia route)",
      "–",
      `${importsRss.rssMiB.toFixed(0)} MiB`,
    ],
  ];
  const ratio = `ready: ${(median(results.gateway) / median(results.baseline)).toFixed(2)} × baseline; RSS: ${(gatewayRss.rssMiB / baselineRss.rssMiB).toFixed(2)} × baseline`;
  const table = [
    `Measured by \`bun scripts/measure-binary.ts\` on ${new Date().toISOString().slice(0, 10)} (${process.arch}, bun ${Bun.version}); baseline: a compiled bare \`Bun.serve\` with the same flags, measured in the same run.`,
    "",
    "| figure | otp-gateway | baseline |",
    "|---|---|---|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `${ratio}.`,
  ].join("\n");
  console.log(table);

  writeBetweenMarkers(join(ROOT, "docs/operations.md"), "binary-figures", table);
} finally {
  rmSync(work, { recursive: true, force: true });
}
