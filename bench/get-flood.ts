// `bun run bench:get-flood`: what a flood of GETs from one address costs the gateway and its
// real users. For every GET route: the server's CPU per request when it is answered in full
// (IP_GET_LIMITS=off), and, on the defaults, a flood (8 connections looping on the route from
// one address: past IP_GET_LIMITS each gets a 429, held back a second) and a legitimate
// sender's latency meanwhile, as a ratio of the same sender's latency with no flood, measured
// in the same run. The compiled binary in production
// mode, a private Redis, the fast fake upstream. Writes bench/results/get-flood.{json,md}.
//   bun bench/get-flood.ts [--smoke] [--no-build] [--seconds 4] [--sends 300]
// --smoke (CI) runs four of the routes, briefly, and checks only that every answer was the expected one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuSeconds,
  freePort,
  median,
  privateRedisArgs,
  sh,
  waitHealthy,
  writeResults,
} from "../scripts/lib/local";

const ROOT = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const SMOKE = flag("smoke");
const CPU_SECONDS = option("seconds", SMOKE ? 1 : 4);
const SENDS = option("sends", SMOKE ? 40 : 300);
const FLOOD_CONNECTIONS = 8;
const ADMIN_TOKEN = "bench-admin-token-0123456789";
/** Each GET route a stranger can reach, and what it answers them. */
const ROUTES: { path: string; expect: number; note: string; control?: true }[] = [
  // The control: the flood goes to another process (a bare Bun.serve), not the gateway. What the
  // sender loses then is what the load generator's own CPU takes from this 2-core machine.
  {
    path: "/",
    expect: 200,
    note: "control: the flood hits a bare Bun.serve beside the gateway",
    control: true,
  },
  { path: "/healthz", expect: 200, note: "constant answer" },
  { path: "/readyz", expect: 200, note: "store ping, shared by concurrent probes" },
  { path: "/metrics", expect: 200, note: "METRICS_ACCESS=public" },
  { path: "/metrics?token-mode", expect: 401, note: "METRICS_ACCESS=token, no token" },
  { path: "/swagger/json", expect: 200, note: "the OpenAPI document" },
  { path: "/swagger", expect: 200, note: "the Swagger UI page" },
  { path: "/problems", expect: 200, note: "problem index" },
  { path: "/problems/rate-limited", expect: 200, note: "one problem page" },
  { path: "/admin/guard", expect: 401, note: "admin route, no token" },
  { path: "/no-such-route", expect: 404, note: "unknown path" },
];

const work = mkdtempSync(join(tmpdir(), "otp-get-flood-"));
type Proc = ReturnType<typeof Bun.spawn>;
const running = new Set<Proc>();
const spawn = (cmd: string[], env: Record<string, string>): Proc => {
  const proc = Bun.spawn(cmd, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "ignore",
    stderr: "ignore",
  });
  running.add(proc);
  return proc;
};

/**
 * wrk on one route at full speed; the answered requests and how many were not `expect` (nor,
 * with `limited`, a 429 of the per-IP limit).
 */
async function flood(port: number, path: string, seconds: number, expect: number, limited = false) {
  const script = join(work, "count.lua");
  const ok = limited ? `status == ${expect} or status == 429` : `status == ${expect}`;
  await Bun.write(
    script,
    `local bad = 0\nresponse = function(status) if not (${ok}) then bad = bad + 1 end end\n` +
      `done = function(s) io.write(string.format("FLOOD %d %d\\n", s.requests, bad)) end\n`,
  );
  const target = path.replace("?token-mode", "");
  const proc = Bun.spawn(
    [
      "wrk",
      "-t1",
      `-c${FLOOD_CONNECTIONS}`,
      `-d${seconds}s`,
      "-s",
      script,
      `http://127.0.0.1:${port}${target}`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const [, requests = "0", bad = "0"] = /FLOOD (\d+) (\d+)/.exec(out) ?? [];
  return { requests: Number(requests), unexpected: Number(bad) };
}

let phone = Math.floor(Math.random() * 1e7);
/** One sender sending codes one after another: each answer's latency in ms. */
async function sender(port: number, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/otp/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: `+9198${String(phone++ % 1e8).padStart(8, "0")}` }),
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`a legitimate send got ${res.status}`);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

/** The route answered in full by wrk at full speed: the server's CPU per request. */
async function cpuPerRequest(port: number, proc: Proc, route: (typeof ROUTES)[number]) {
  await flood(port, route.path, 1, route.expect); // warm-up
  const before = cpuSeconds(proc.pid);
  const run = await flood(port, route.path, CPU_SECONDS, route.expect);
  return {
    cpuUs: Math.round(((cpuSeconds(proc.pid) - before) * 1e6) / Math.max(run.requests, 1)),
    unexpected: run.unexpected,
  };
}

async function stopGateway(proc: Proc): Promise<void> {
  proc.kill("SIGTERM");
  await proc.exited;
  running.delete(proc);
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;

interface Row {
  path: string;
  note: string;
  /** Answered in full, IP_GET_LIMITS=off. */
  cpu_us_per_req: number;
  flood_rps: number;
  unexpected: number;
  sender_p50_ms: number;
  sender_p99_ms: number;
  p50_ratio: number;
}

try {
  if (!flag("no-build")) await sh(["bash", "scripts/build.sh"], ROOT);
  const redisPort = await freePort();
  spawn(privateRedisArgs(redisPort), {});
  const upstreamPort = await freePort();
  spawn(["bun", join(ROOT, "bench/fake-upstream.ts")], { PORT: String(upstreamPort) });
  await Bun.sleep(300);
  const env = (extra: Record<string, string>) => ({
    HOST: "127.0.0.1",
    STARTMESSAGING_API_KEY: "sm_bench",
    STARTMESSAGING_BASE_URL: `http://127.0.0.1:${upstreamPort}`,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    ADMIN_TOKEN,
    // The legitimate sender is one address sending many codes: its limits are out of the way.
    IP_SEND_LIMITS: "10000/1s",
    IPV4_SUBNET_SEND_LIMITS: "off",
    SEND_BUDGETS: "*=100000000/1h",
    // Its codes go to consecutive numbers and are never verified: the guard's bounds out of the way too.
    PUMPING_UNPROVEN_BLOCK: "0",
    PUMPING_UNPROVEN_RANGE: "0",
    PHONE_SEND_LIMITS: "1000/1s",
    ...extra,
  });
  const start = async (extra: Record<string, string>) => {
    const port = await freePort();
    const proc = spawn([join(ROOT, "dist/otp-gateway")], { ...env(extra), PORT: String(port) });
    await waitHealthy(port);
    return { port, proc };
  };

  const controlPort = await freePort();
  spawn(["bun", join(ROOT, "bench/baselines/bare-serve.ts")], { PORT: String(controlPort) });
  await waitHealthy(controlPort);
  const rows: Row[] = [];
  const SMOKE_ROUTES = new Set(["/", "/healthz", "/metrics", "/swagger/json"]);
  for (const route of SMOKE ? ROUTES.filter((r) => SMOKE_ROUTES.has(r.path)) : ROUTES) {
    const tokenMode = route.path.includes("token-mode");
    const access = { METRICS_ACCESS: tokenMode ? "token" : "public" };
    // Answered in full: the route's own cost.
    const open = await start({ ...access, IP_GET_LIMITS: "off" });
    const served = await cpuPerRequest(route.control ? controlPort : open.port, open.proc, route);
    await stopGateway(open.proc);
    // On the defaults: the flood's cost, and what it does to a sender.
    const { port, proc } = await start(access);
    const target = route.control ? controlPort : port;
    await sender(port, 50); // warm-up: JSC compiles the send path
    const quiet = await sender(port, SENDS);
    // The flood, long enough to cover the sender, who starts once it is under way.
    const seconds = Math.ceil((median(quiet) * SENDS * 20) / 1000) + 2;
    const flooding = flood(target, route.path, seconds, route.expect, true);
    await Bun.sleep(300);
    const loaded = await sender(port, SENDS);
    const floodRun = await flooding;
    await stopGateway(proc);
    const row: Row = {
      path: route.path.replace("?token-mode", ""),
      note: route.note,
      cpu_us_per_req: route.control ? 0 : served.cpuUs,
      flood_rps: Math.round(floodRun.requests / seconds),
      unexpected: served.unexpected + floodRun.unexpected,
      sender_p50_ms: Math.round(percentile(loaded, 0.5) * 100) / 100,
      sender_p99_ms: Math.round(percentile(loaded, 0.99) * 100) / 100,
      p50_ratio: Math.round((percentile(loaded, 0.5) / percentile(quiet, 0.5)) * 100) / 100,
    };
    console.log(
      `${`${row.path} (${row.note})`.padEnd(52)} cpu ${String(row.cpu_us_per_req).padStart(5)} µs/req, ` +
        `flood answered ${row.flood_rps} req/s; sender p50 ${row.sender_p50_ms} ms ` +
        `(${row.p50_ratio}× quiet ${Math.round(percentile(quiet, 0.5) * 100) / 100}) p99 ${row.sender_p99_ms} ms` +
        (row.unexpected ? `  unexpected statuses ${row.unexpected}` : ""),
    );
    rows.push(row);
  }
  const worst = Math.max(...rows.map((r) => r.p50_ratio));
  const report = {
    date: new Date().toISOString(),
    machine: { cores: navigator.hardwareConcurrency, arch: process.arch, bun: Bun.version },
    settings: { flood_connections: FLOOD_CONNECTIONS, sends: SENDS, cpu_seconds: CPU_SECONDS, smoke: SMOKE },
    rows,
    target: {
      what: "legitimate sender's p50 under a flood ÷ unloaded",
      value: worst,
      max: 2,
      met: worst <= 2,
    },
  };
  const md = [
    `Run ${report.date.slice(0, 16)}Z on ${report.machine.cores} cores (bun ${Bun.version}): the compiled binary in production ` +
      `mode with Redis; each route flooded by wrk -t1 -c${FLOOD_CONNECTIONS} from 127.0.0.1 at full speed while one sender ` +
      `sends ${SENDS} codes one after another.`,
    "",
    "| GET route | what a stranger gets | server CPU µs/req | flood answers/s | sender p50 ms | ÷ unloaded p50 | sender p99 ms |",
    "|---|---|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| \`${r.path}\` | ${r.note} | ${r.cpu_us_per_req} | ${r.flood_rps} | ${r.sender_p50_ms} | ${r.p50_ratio} | ${r.sender_p99_ms} |`,
    ),
    "",
    "Server CPU: the route answered in full (IP_GET_LIMITS=off), wrk at full speed. Flood answers/s: what the looping " +
      "client got on the defaults, where past IP_GET_LIMITS each answer is a 429 held back a second (the probes are " +
      "never limited).",
    "",
    `Target: the sender's p50 under any flood ≤ 2× unloaded: worst ${worst}× (${worst <= 2 ? "met" : "not met"}).`,
  ].join("\n");
  writeResults(ROOT, SMOKE ? "get-flood-smoke" : "get-flood", report, md);
} finally {
  for (const p of running) p.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}
