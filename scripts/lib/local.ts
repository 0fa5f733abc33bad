// Helpers for the scripts, the benchmark and the tests that start local processes.
import { readFileSync } from "node:fs";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

/** Waits until GET /healthz on 127.0.0.1:port answers 200; returns the ms waited, throws after `ms`. */
export async function waitHealthy(port: number, ms = 10_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await Bun.sleep(10);
  }
  throw new Error(`no /healthz on ${port} within ${ms} ms`);
}

/** Resident memory of a process in MiB; with `children`, its child processes' added (WORKERS > 1). */
export function rssMiB(pid: number, children = false): number {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  const own = Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`))?.[1] ?? 0) / 1024;
  if (!children) return own;
  const kids = read(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
  return own + kids.reduce((sum, kid) => sum + rssMiB(kid, true), 0);
}
