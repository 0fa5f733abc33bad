// Helpers for the scripts, the benchmark and the tests that start local processes.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const { port } = probe;
  await probe.stop(true);
  if (port === undefined) throw new Error("Bun.serve on port 0 is listening on no port");
  return port;
}

/** Waits until GET /healthz on 127.0.0.1:port answers 200; returns the ms waited, throws after `ms`. */
export async function waitHealthy(port: number, ms = 10_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) {
        return performance.now() - started;
      }
    } catch {
      // not listening yet
    }
    await Bun.sleep(10);
  }
  throw new Error(`no /healthz on ${port} within ${ms} ms`);
}

function readProc(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Live child processes (WORKERS > 1 runs its workers as children of the primary). */
function childrenOf(pid: number): number[] {
  return readProc(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Resident memory of a process in MiB; with `children`, its child processes' added (WORKERS > 1). */
export function rssMiB(pid: number, children = false): number {
  const own = Number(/VmRSS:\s+(\d+)/.exec(readProc(`/proc/${pid}/status`))?.[1] ?? 0) / 1024;
  if (!children) return own;
  return own + childrenOf(pid).reduce((sum, kid) => sum + rssMiB(kid, true), 0);
}

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) a process and its live children have used so far.
 * Per request, this is steadier than req/s on a shared machine: a neighbour
 * slows the wall clock more than it changes the work done per request.
 */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, so cut at its closing paren): utime is the 12th, stime the 13th.
  const stat = readProc(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const own = (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / USER_HZ;
  return own + childrenOf(pid).reduce((sum, kid) => sum + cpuSeconds(kid), 0);
}

/** What a finished command printed, and its exit code. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, its output collected, whatever its exit code. */
export async function run(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<Ran> {
  const proc = Bun.spawn(cmd, { ...options, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** Runs a command to completion; throws with its stderr when it fails. */
export async function sh(cmd: string[], cwd: string): Promise<void> {
  const proc = Bun.spawn(cmd, { cwd, stdout: "ignore", stderr: "pipe" });
  if ((await proc.exited) !== 0) {
    throw new Error(`${cmd.join(" ")}: ${await new Response(proc.stderr).text()}`);
  }
}

/** The median of `xs` (the upper middle one of an even count); NaN for none. */
export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/**
 * Where a process's memory is, in MiB: anonymous (JS heap, malloc) and pages of
 * mapped files (for a compiled binary, its own code and embedded bundle: clean,
 * shared between processes, reclaimable by the kernel).
 */
export function memorySplitMiB(pid: number): { anon: number; file: number } {
  const rollup = readProc(`/proc/${pid}/smaps_rollup`);
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(rollup)?.[1] ?? NaN) / 1024;
  return { anon: field("Pss_Anon"), file: field("Pss_File") };
}

/** Writes a benchmark's report as bench/results/<name>.{json,md} and prints it. */
export function writeResults(root: string, name: string, json: unknown, md: string): void {
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, `bench/results/${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(root, `bench/results/${name}.md`), `${md}\n`);
  console.log(`\n${md}\n\nwrote bench/results/${name}.json and .md`);
}

/** The number after `--name` on the command line, or `fallback` when the flag is absent. */
export function numberFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at < 0 ? undefined : Number(process.argv[at + 1]);
  if (value !== undefined && !(value > 0)) throw new Error(`--${name} takes a positive number`);
  return value ?? fallback;
}

/** Replaces what lies between `<!-- name:start -->` and `<!-- name:end -->` in a document; says so when they are missing. */
export function writeBetweenMarkers(path: string, name: string, text: string): void {
  const doc = readFileSync(path, "utf8");
  const [start, end] = [`<!-- ${name}:start -->\n`, `\n<!-- ${name}:end -->`];
  const from = doc.indexOf(start) + start.length;
  const to = doc.indexOf(end);
  if (from < start.length || to < 0) {
    console.error(`${path} has no ${name} markers; not written`);
    return;
  }
  writeFileSync(path, doc.slice(0, from) + text + doc.slice(to));
}

/** mulberry32: a small seeded generator, the same traffic every run (benchmarks, simulated tests). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A private redis-server on 127.0.0.1:`port` that keeps nothing on disk: its command line. */
export const privateRedisArgs = (port: number, ...extra: string[]) => [
  "redis-server",
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "no",
  ...extra,
];
