// `bun run bench`: load on the compiled gateway and on baselines measured in the same run,
// reported as ratios. Starts everything it needs: a private Redis, a fake upstream, the
// binaries; drives load with wrk from a separate process. Writes bench/results/latest.{json,md}.
//   bun bench/run.ts [--duration 10] [--connections 32] [--smoke] [--no-build] [--only <text>] [--repeat 1]
// --only runs the scenarios whose name matches <text>, a regular expression (`accepted send$|guard off`),
// and prints them; it writes no report.
// --repeat N runs the scenarios N times, round after round, every other round in reverse order (so a
// noisy minute touches each alike), and keeps each one's median run by server CPU per request; the
// guard's cost is then the median of the rounds' differences.
// --pin runs the server under test on the second core and everything else (wrk, Redis, the fake
// upstream) on the first (taskset), so that they do not take turns on the server's core.
// --warmup S (default 3, 0 with --smoke) drives each server at full speed for S seconds before its
// measured run (not the flood and the verify rows, whose state the warm-up would change): what is
// measured is a server whose hot code JSC has compiled, as in a gateway that has run for a while.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuSeconds,
  freePort,
  privateRedisArgs,
  rssMiB,
  sh,
  waitHealthy,
  writeResults,
} from "../scripts/lib/local";
import { must } from "../test/support/given";

const ROOT = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const SMOKE = flag("smoke");
const DURATION = option("duration", SMOKE ? 1 : 10);
const CONNECTIONS = option("connections", SMOKE ? 4 : 32);
const FLOOD_SECONDS = option("flood-seconds", SMOKE ? 1 : 25);
const ONLY = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const REPEAT = Math.max(1, option("repeat", 1));
const PIN = flag("pin");
const WARMUP = option("warmup", SMOKE ? 0 : 3);
/** `cmd` on one core with --pin: 1 for the server under test, 0 for the rest. */
const onCore = (core: 0 | 1, cmd: string[]) => (PIN ? ["taskset", "-c", String(core), ...cmd] : cmd);
const GUARDED = "gateway: accepted send";
const FLOOR = "baseline: Elysia + 1 EVALSHA + 1 fetch";
/** Paced at half the gateway's peak (its accepted-send row's req/s), the floor and then the gateway. */
const FLOOR_PACED = "baseline: Elysia + 1 EVALSHA + 1 fetch, paced at half the gateway's peak";
const GUARDED_PACED = "gateway: accepted send, paced at half its peak";
const UNGUARDED = "gateway: accepted send, spend guard off";
/** The unguarded send at the guarded one's paced rate: the guard's cost at equal load (see below). */
const UNGUARDED_PACED = "gateway: accepted send, spend guard off, paced at the same rate";
const FLOOD = "gateway: flood of distinct addresses, no heap sizing";
const FLOOD_IMAGE = "gateway: flood of distinct addresses, heap sized as in the image";
/** What the Dockerfile sets: JSC sizes its heap for 150 MB and collects sooner (see BENCHMARKS.md). */
const IMAGE_HEAP = { BUN_JSC_forceRAMSize: "150000000" };
/** The spend guard switched off: its cost per accepted send is the difference to the guarded row. */
const GUARD_OFF = {
  SEND_BUDGETS: "off",
  PUMPING_GUARD: "off",
  IPV4_SUBNET_SEND_LIMITS: "off",
  IPV6_SUBNET_SEND_LIMITS: "off",
};
const work = mkdtempSync(join(tmpdir(), "otp-bench-"));

type Proc = ReturnType<typeof Bun.spawn>;
const running = new Set<Proc>();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

function spawn(cmd: string[], env: Record<string, string>): Proc {
  const proc = Bun.spawn(cmd, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "ignore",
    stderr: "ignore",
  });
  running.add(proc);
  return proc;
}

async function stop(proc: Proc): Promise<void> {
  proc.kill("SIGTERM");
  await proc.exited;
  running.delete(proc);
}

interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  socket_errors: number;
  unexpected_status: number;
  unexpected_429: number;
  unexpected_4xx: number;
  unexpected_5xx: number;
}

async function wrk(
  script: string,
  port: number,
  seconds: number,
  expectStatus: number,
  env: Record<string, string> = {},
): Promise<WrkResult> {
  const combined = join(work, `${script}.combined.lua`);
  const parts = await Promise.all(
    ["threads.lua", script, "rate.lua", "report.lua"].map((name) =>
      Bun.file(join(ROOT, "bench/wrk", name)).text(),
    ),
  );
  writeFileSync(combined, parts.join("\n"));
  const proc = Bun.spawn(
    onCore(0, [
      "wrk",
      "-t1",
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      "--latency",
      "-s",
      combined,
      `http://127.0.0.1:${port}`,
    ]),
    {
      env: {
        PATH: process.env.PATH ?? "",
        EXPECT_STATUS: String(expectStatus),
        PHONE_BASE: String(Math.floor(Math.random() * 1e8)),
        ...env,
      },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${out}\n${await new Response(proc.stderr).text()}`);
  return JSON.parse(line.slice("BENCH_JSON ".length)) as WrkResult;
}

interface Row extends WrkResult {
  name: string;
  peak_rss_mib: number;
  /** Server CPU (user + system, workers included) per answered request, in µs. */
  cpu_us_per_req: number;
}

/** The lower middle of `values`; none for none. */
const medianOf = (values: number[]): number | undefined =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

/** Server CPU per request of round `i`'s run: each paired scenario runs once a round. */
const cpuOf = (runs: Row[], i: number) => must(runs[i], `round ${i + 1}'s run`).cpu_us_per_req;

/** A scenario's median run by server CPU per request (the lower middle one of an even count). */
function median(runs: Row[]): Row {
  const cpu = medianOf(runs.map((r) => r.cpu_us_per_req));
  return must(
    runs.find((r) => r.cpu_us_per_req === cpu),
    "a run with the median CPU",
  );
}

/** Starts `cmd`, waits for /healthz, runs the load, samples RSS, stops it. */
async function scenario(
  name: string,
  cmd: string[],
  env: Record<string, string>,
  load: { script: string; expect: number; seconds?: number; env?: Record<string, string>; warm?: false },
  prepare?: (port: number) => Promise<Record<string, string>>,
): Promise<Row> {
  const port = await freePort();
  const proc = spawn(onCore(1, cmd), { HOST: "127.0.0.1", PORT: String(port), ...env });
  await waitHealthy(port);
  const extraEnv = prepare ? await prepare(port) : {};
  let peak = rssMiB(proc.pid, true);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(proc.pid, true))), 50);
  if (WARMUP > 0 && load.warm !== false) {
    // At full speed even for a paced row: JSC compiles a function once it has run often enough,
    // which at half the peak takes over 10 s (BENCHMARKS.md); other numbers than the measured run's.
    const { RATE: _paced, ...unpaced } = { ...load.env, ...extraEnv };
    await wrk(load.script, port, WARMUP, load.expect, unpaced);
  }
  const cpuBefore = cpuSeconds(proc.pid);
  const result = await wrk(load.script, port, load.seconds ?? DURATION, load.expect, {
    ...load.env,
    ...extraEnv,
  });
  const cpu = cpuSeconds(proc.pid) - cpuBefore;
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB(proc.pid, true));
  await stop(proc);
  const row = {
    name,
    ...result,
    peak_rss_mib: Math.round(peak * 10) / 10,
    cpu_us_per_req: Math.round((cpu * 1e6) / Math.max(result.requests, 1)),
  };
  console.log(
    `${name.padEnd(44)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50_ms.toFixed(2)} ms  p99 ${row.p99_ms.toFixed(2)} ms  cpu ${row.cpu_us_per_req} µs/req  errors ${row.socket_errors + row.unexpected_status} (429: ${row.unexpected_429}, 4xx: ${row.unexpected_4xx}, 5xx: ${row.unexpected_5xx})  peak RSS ${row.peak_rss_mib} MiB`,
  );
  return row;
}

/** The one send a denial scenario allows, made before the load so that every measured answer is a 429. */
async function spendAllowance(port: number): Promise<Record<string, string>> {
  await fetch(`http://127.0.0.1:${port}/v1/otp/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"phone":"+919876543210"}',
  });
  return {};
}

async function issueIds(port: number, count: number): Promise<Record<string, string>> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 32) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(32, count - i) }, async (_, j) => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/otp/send`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ phone: `+9197${String(10_000_000 + i + j).padStart(8, "0")}` }),
        });
        return ((await res.json()) as { verificationId: string }).verificationId;
      }),
    );
    ids.push(...batch);
  }
  const file = join(work, "ids.txt");
  writeFileSync(file, `${ids.join("\n")}\n`);
  return { IDS_FILE: file };
}

try {
  console.log(
    `bench: ${SMOKE ? "smoke, " : ""}${DURATION}s per scenario, ${CONNECTIONS} connections, wrk -t1, ${navigator.hardwareConcurrency} cores`,
  );
  if (!flag("no-build")) await sh(["bash", "scripts/build.sh"], ROOT);
  for (const name of ["bare-serve", "bare-elysia", "minimal-pipeline"]) {
    await sh(
      [
        "bun",
        "build",
        join(ROOT, `bench/baselines/${name}.ts`),
        "--compile",
        "--minify",
        "--bytecode",
        "--format=esm",
        "--outfile",
        join(work, name),
      ],
      ROOT,
    );
  }
  const redisPort = await freePort();
  const redis = spawn(onCore(0, privateRedisArgs(redisPort)), {});
  const upstreamPort = await freePort();
  const upstream = spawn(onCore(0, ["bun", join(ROOT, "bench/fake-upstream.ts")]), {
    PORT: String(upstreamPort),
  });
  await Bun.sleep(300);

  const REDIS_URL = `redis://127.0.0.1:${redisPort}`;
  const UPSTREAM_URL = `http://127.0.0.1:${upstreamPort}`;
  // OTP_BENCH_GATEWAY: another build of the gateway under the same load (bench/compare.ts pairs two).
  const gateway = [process.env.OTP_BENCH_GATEWAY ?? join(ROOT, "dist/otp-gateway")];
  const base = {
    STARTMESSAGING_API_KEY: "sm_bench",
    STARTMESSAGING_BASE_URL: UPSTREAM_URL,
    REDIS_URL,
    LOG_LEVEL: "info",
    ALLOWED_COUNTRIES: "IN",
  };
  // Per-IP limits far above the load (every request comes from 127.0.0.1), so they never answer.
  // The flood's addresses fill whole /24s: the subnet tier is opened so that every address opens its own bucket.
  const floodTiers = { IPV4_SUBNET_SEND_LIMITS: "10000/100ms" };
  const open = {
    IP_SEND_LIMITS: "10000/100ms",
    IP_VERIFY_LIMITS: "10000/100ms",
    IPV4_SUBNET_SEND_LIMITS: "10000/100ms",
    IPV6_SUBNET_SEND_LIMITS: "10000/100ms",
    // A budget far above the load, as the default has one, checked on every send (its cost is part of the row).
    SEND_BUDGETS: "*=100000000/1h",
    // The bounds on unproven sends, likewise: counted and checked on every send, never reached by
    // a load of codes nobody verifies.
    PUMPING_UNPROVEN_BLOCK: "1000000",
    PUMPING_UNPROVEN_RANGE: "1000000",
  };

  // Every scenario, in report order; `--only <text>` runs those whose name contains the text.
  const scenarios: [
    string,
    string[],
    Record<string, string>,
    Parameters<typeof scenario>[3],
    Parameters<typeof scenario>[4]?,
  ][] = [
    [
      "baseline: bare Bun.serve",
      [join(work, "bare-serve")],
      {},
      { script: "send-random-phone.lua", expect: 200 },
    ],
    [
      "baseline: bare Elysia route + body schema",
      [join(work, "bare-elysia")],
      {},
      { script: "send-random-phone.lua", expect: 200 },
    ],
    [
      FLOOR,
      [join(work, "minimal-pipeline")],
      { REDIS_URL, UPSTREAM_URL },
      { script: "send-random-phone.lua", expect: 200 },
    ],
    [GUARDED, gateway, { ...base, ...open }, { script: "send-random-phone.lua", expect: 200 }],
    [
      UNGUARDED,
      gateway,
      { ...base, ...open, ...GUARD_OFF },
      { script: "send-random-phone.lua", expect: 200 },
    ],
    [
      "gateway: send denied by the per-IP limit",
      gateway,
      { ...base, IP_SEND_LIMITS: "1/1h" },
      { script: "send-same-phone.lua", expect: 429 },
      spendAllowance,
    ],
    [
      "gateway: send denied by the per-phone limit",
      gateway,
      { ...base, ...open, PHONE_SEND_LIMITS: "1/1h" },
      { script: "send-same-phone.lua", expect: 429 },
      spendAllowance,
    ],
    [
      "gateway: verify (wrong code, store + upstream)",
      gateway,
      { ...base, ...open, OTP_MAX_ATTEMPTS: "10", PHONE_VERIFY_LIMITS: "10000/100ms" },
      { script: "verify-pool.lua", expect: 200, warm: false },
      (port) => issueIds(port, SMOKE ? 200 : 5000),
    ],
    [
      "gateway: accepted send, LOG_LEVEL=warn",
      gateway,
      { ...base, ...open, LOG_LEVEL: "warn" },
      { script: "send-random-phone.lua", expect: 200 },
    ],
    [
      "gateway: accepted send, WORKERS=2",
      gateway,
      { ...base, ...open, WORKERS: "2" },
      { script: "send-random-phone.lua", expect: 200 },
    ],
    [
      "gateway: accepted send, heap sized as in the image",
      gateway,
      { ...base, ...open, ...IMAGE_HEAP },
      { script: "send-random-phone.lua", expect: 200 },
    ],
    [
      FLOOD_IMAGE,
      gateway,
      { ...base, TRUST_PROXY: "1", ...floodTiers, ...IMAGE_HEAP },
      { script: "flood-addresses.lua", expect: 400, seconds: FLOOD_SECONDS, warm: false },
    ],
    [
      FLOOD,
      gateway,
      { ...base, TRUST_PROXY: "1", ...floodTiers },
      { script: "flood-addresses.lua", expect: 400, seconds: FLOOD_SECONDS, warm: false },
    ],
  ];
  const chosen = scenarios.filter(([name]) => !ONLY || new RegExp(ONLY).test(name));
  const runs = new Map<string, Row[]>(chosen.map(([name]) => [name, []]));
  const runsOf = (name: string) => must(runs.get(name), `the runs of ${name}`);
  const scenarioNamed = (wanted: string) =>
    must(
      scenarios.find(([name]) => name === wanted),
      `a scenario named ${wanted}`,
    );
  for (let round = 1; round <= REPEAT; round++) {
    if (REPEAT > 1) console.log(`round ${round} of ${REPEAT}`);
    // Every other round in reverse order: neither of two compared rows always runs first.
    for (const [name, cmd, env, load, prepare] of round % 2 ? chosen : [...chosen].reverse()) {
      runsOf(name).push(await scenario(name, cmd, env, load, prepare));
    }
  }
  // p99 at a rate both can carry: half the gateway's peak, the same for the floor and the gateway.
  const peak = runs.get(GUARDED);
  if (peak && (!ONLY || new RegExp(ONLY).test(GUARDED_PACED))) {
    const rate = Math.round(median(peak).rps / 2);
    console.log(`paced rows: ${rate} req/s`);
    const [, floorCmd, floorEnv, floorLoad] = scenarioNamed(FLOOR);
    const [, gwCmd, gwEnv, gwLoad] = scenarioNamed(GUARDED);
    const [, offCmd, offEnv, offLoad] = scenarioNamed(UNGUARDED);
    const paced = (load: (typeof scenarios)[number][3]) => ({
      ...load,
      env: { ...load.env, RATE: String(rate) },
    });
    // With the unguarded row chosen too, it runs at the same rate: at saturation the guarded row
    // answers fewer requests a second (its Redis work shares the cores), and a server batching
    // fewer requests per turn spends more CPU on each, which the plain difference counts as the guard's.
    const withOff = runs.has(UNGUARDED);
    for (const name of [FLOOR_PACED, GUARDED_PACED, ...(withOff ? [UNGUARDED_PACED] : [])]) {
      runs.set(name, []);
    }
    for (let round = 1; round <= REPEAT; round++) {
      runsOf(FLOOR_PACED).push(await scenario(FLOOR_PACED, floorCmd, floorEnv, paced(floorLoad)));
      const pair: [string, string[], Record<string, string>, typeof gwLoad][] = [
        [GUARDED_PACED, gwCmd, gwEnv, gwLoad],
      ];
      if (withOff) pair[round % 2 ? "push" : "unshift"]([UNGUARDED_PACED, offCmd, offEnv, offLoad]);
      for (const [name, cmd, env, load] of pair) {
        runsOf(name).push(await scenario(name, cmd, env, paced(load)));
      }
    }
  }
  const rows = [...runs.values()].map(median);
  if (REPEAT > 1) {
    console.log(`medians of ${REPEAT} rounds, by server CPU per request:`);
    for (const r of rows) {
      console.log(`${r.name.padEnd(44)} cpu ${r.cpu_us_per_req} µs/req  ${r.rps.toFixed(0)} req/s`);
    }
  }
  const guarded = runs.get(GUARDED);
  const unguarded = runs.get(UNGUARDED);
  const guardDeltas =
    guarded && unguarded ? guarded.map((g, i) => g.cpu_us_per_req - cpuOf(unguarded, i)) : [];
  if (REPEAT > 1 && guardDeltas.length > 0) {
    console.log(
      `spend guard's cost per accepted send, per round: ${guardDeltas.join(", ")} µs; median ${medianOf(guardDeltas)} µs`,
    );
  }
  const guardedPaced = runs.get(GUARDED_PACED);
  const unguardedPaced = runs.get(UNGUARDED_PACED);
  const pacedDeltas =
    guardedPaced && unguardedPaced
      ? guardedPaced.map((g, i) => g.cpu_us_per_req - cpuOf(unguardedPaced, i))
      : [];
  const pacedRps = guardedPaced?.[0]?.rps;
  if (pacedDeltas.length > 0 && pacedRps !== undefined) {
    console.log(
      `spend guard's cost per accepted send at one rate (${pacedRps.toFixed(0)} req/s), per round: ${pacedDeltas.join(", ")} µs; median ${medianOf(pacedDeltas)} µs`,
    );
  }

  await stop(upstream);
  await stop(redis);

  // Every scenario ran: both pairs of rows have one difference a round.
  if (!ONLY) {
    writeReport(
      rows,
      must(medianOf(guardDeltas), "the guard's cost per round"),
      must(medianOf(pacedDeltas), "the guard's cost at one rate per round"),
    );
  }
} finally {
  for (const p of running) p.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}

/** The ratios against the targets, and the report in markdown and JSON. */
function writeReport(rows: Row[], guardUs: number, guardPacedUs: number): void {
  const by = (prefix: string) =>
    must(
      rows.find((r) => r.name.startsWith(prefix)),
      `a row named ${prefix}…`,
    );
  const flood = by(FLOOD_IMAGE);
  const floodUnsized = by(FLOOD);
  const ratio = (a: Row, b: Row) => Math.round((a.rps / b.rps) * 100) / 100;
  // The same comparison by server CPU per request: the baseline's cost over the gateway's.
  const cpuRatio = (a: Row, b: Row) => Math.round((b.cpu_us_per_req / a.cpu_us_per_req) * 100) / 100;
  const pairs = [
    {
      what: "accepted send ÷ minimal pipeline",
      gateway: by("gateway: accepted send"),
      baseline: by("baseline: Elysia + 1"),
      // Issue 14's targets, by server CPU per request (an earlier issue asked 0.9 and 0.95 by req/s).
      target: 0.7,
    },
    {
      what: "IP-denied send ÷ bare Elysia route",
      gateway: by("gateway: send denied by the per-IP"),
      baseline: by("baseline: bare Elysia"),
      target: 0.8,
    },
  ];
  const targets = pairs.map((p) => ({
    what: p.what,
    value: ratio(p.gateway, p.baseline),
    by_cpu: cpuRatio(p.gateway, p.baseline),
    target: p.target,
  }));
  const guardCost = {
    cpu_us_per_send: guardUs,
    cpu_us_per_send_paced: guardPacedUs,
    rounds: REPEAT,
    target_us: 15,
  };
  const floorPaced = by(FLOOR_PACED);
  const gatewayPaced = by(GUARDED_PACED);
  const p99 = {
    rate_rps: gatewayPaced.rps,
    gateway_p99_ms: gatewayPaced.p99_ms,
    floor_p99_ms: floorPaced.p99_ms,
    ratio: Math.round((gatewayPaced.p99_ms / floorPaced.p99_ms) * 100) / 100,
    target: 1.5,
  };
  const report = {
    date: new Date().toISOString(),
    machine: { cores: navigator.hardwareConcurrency, arch: process.arch, bun: Bun.version },
    settings: {
      repeat: REPEAT,
      duration_s: DURATION,
      connections: CONNECTIONS,
      wrk_threads: 1,
      warmup_s: WARMUP,
      smoke: SMOKE,
      flood_seconds: FLOOD_SECONDS,
    },
    rows,
    ratios: targets.map((t) => ({ ...t, met: t.by_cpu >= t.target })),
    spend_guard: { ...guardCost, met: guardCost.cpu_us_per_send <= guardCost.target_us },
    p99_at_half_peak: { ...p99, met: p99.ratio <= p99.target },
    flood: {
      heap: "as in the image",
      distinct_addresses: flood.requests,
      peak_rss_mib: flood.peak_rss_mib,
      target_mib: 150,
      met: flood.peak_rss_mib <= 150,
    },
    flood_unsized_heap: {
      heap: "JSC default",
      distinct_addresses: floodUnsized.requests,
      peak_rss_mib: floodUnsized.peak_rss_mib,
      target_mib: 150,
      met: floodUnsized.peak_rss_mib <= 150,
    },
  };
  const md = [
    `Run ${report.date.slice(0, 16)}Z on ${report.machine.cores} cores (${report.machine.arch}, bun ${report.machine.bun}); ${DURATION}s per scenario${WARMUP > 0 ? ` after a ${WARMUP}s warm-up at full speed (not the verify and flood rows)` : ""}${REPEAT > 1 ? `, ${REPEAT} rounds (each row its median run by server CPU)` : ""}, ${CONNECTIONS} connections, wrk -t1 on the same machine.`,
    "",
    "| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | errors | peak RSS MiB |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} | ${r.cpu_us_per_req} | ${r.socket_errors + r.unexpected_status} | ${r.peak_rss_mib} |`,
    ),
    "",
    "| ratio | value (req/s) | by server CPU per request | target | met |",
    "|---|---:|---:|---:|---|",
    ...report.ratios.map(
      (t) => `| ${t.what} | ${t.value} | ${t.by_cpu} | ≥ ${t.target} by CPU | ${t.met ? "yes" : "no"} |`,
    ),
    `| spend guard (subnet tiers, budgets, pumping check): CPU per accepted send, guarded − unguarded${REPEAT > 1 ? ` (median of ${REPEAT} rounds' differences)` : ""} | ${guardCost.cpu_us_per_send} µs | | ≤ ${guardCost.target_us} µs | ${guardCost.cpu_us_per_send <= guardCost.target_us ? "yes" : "no"} |`,
    `| spend guard at one rate (the paced rows): CPU per accepted send, guarded − unguarded, both at ${by(GUARDED_PACED).rps.toFixed(0)} req/s | ${guardCost.cpu_us_per_send_paced} µs | | ≤ ${guardCost.target_us} µs | ${guardCost.cpu_us_per_send_paced <= guardCost.target_us ? "yes" : "no"} |`,
    `| p99 of an accepted send at half its peak (${p99.rate_rps.toFixed(0)} req/s) ÷ the floor's p99 at the same rate | ${p99.ratio} (${p99.gateway_p99_ms.toFixed(2)} / ${p99.floor_p99_ms.toFixed(2)} ms) | | ≤ ${p99.target} | ${p99.ratio <= p99.target ? "yes" : "no"} |`,
    `| flood, heap sized as in the image: peak RSS over ${flood.requests} distinct addresses | ${flood.peak_rss_mib} MiB | | ≤ 150 MiB | ${report.flood.met ? "yes" : "no"} |`,
    `| flood, JSC's default heap sizing: peak RSS over ${floodUnsized.requests} distinct addresses | ${floodUnsized.peak_rss_mib} MiB | | ≤ 150 MiB | ${report.flood_unsized_heap.met ? "yes" : "no"} |`,
    "",
    "errors = socket errors + answers other than the scenario's expected status (200, 429 or 400). Server CPU: user + system time of the server process (and its workers) during the load, per answered request; steadier than req/s when the machine is shared.",
  ].join("\n");
  writeResults(ROOT, SMOKE ? "smoke" : "latest", report, md);
}
