/** Options of {@link releaseWhenIdle}. */
export interface IdleReleaseOptions {
  /** How often the process's CPU time is looked at. Default 5 s. */
  intervalMs?: number;
  /**
   * An interval that used less CPU than this is idle. Default 50 ms (1 % of a core):
   * an idle gateway's threads used 8-30 ms in 5 s here, a health probe uses about 0.1 ms.
   */
  idleCpuMs?: number;
  /** An interval that used more CPU than this was real work, whose memory is worth releasing after. Default 250 ms. */
  busyCpuMs?: number;
  /** CPU time used by the process so far, in ms. Default: process.cpuUsage(). */
  cpuMs?: () => number;
  /** Releases memory. Default: Bun.shrink() (see below). */
  release?: () => void;
  /** Told after each release is asked for (it runs once the tick has returned). */
  onRelease?: () => void;
  /** Runs `tick` every `ms`; returns a stop function. Default: an unref'd setInterval. */
  every?: (tick: () => void, ms: number) => () => void;
}

const unrefInterval = (tick: () => void, ms: number) => {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
};

const processCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * JSC drops the code it compiled and the garbage it keeps, and hands freed
 * pages back to the system: `VM::shrinkFootprintWhenIdle` (a full collection,
 * all code deleted, fastMalloc's free memory released), which Bun.shrink runs.
 * Bun marks it deprecated: where it is gone, a full collection still helps a little.
 */
function shrink(): void {
  const bun = Bun as { shrink?: () => void };
  if (typeof bun.shrink === "function") bun.shrink();
  else Bun.gc(true);
}

/**
 * Releases memory once after start-up and once after each stretch of real work,
 * as soon as an interval passes idle: what start-up compiled and allocated (config
 * parsing, validators, route composition, the Redis client's command table) is
 * not needed again, and the code requests need is compiled again on their next
 * call (the first send after a release took about 4 ms more here). No hook per
 * request: the process's own CPU time tells idle from busy. Returns a stop function.
 */
export function releaseWhenIdle(options: IdleReleaseOptions = {}): () => void {
  const intervalMs = options.intervalMs ?? 5_000;
  const idleCpuMs = options.idleCpuMs ?? 50;
  const busyCpuMs = options.busyCpuMs ?? 250;
  const cpuMs = options.cpuMs ?? processCpuMs;
  const release = options.release ?? shrink;
  // Start-up's garbage and code are the first thing to release.
  let armed = true;
  // The interval after a release holds the release's own work: not judged.
  let judge = true;
  let last = cpuMs();
  return (options.every ?? unrefInterval)(() => {
    const now = cpuMs();
    const used = now - last;
    last = now;
    if (!judge) {
      judge = true;
      return;
    }
    if (used > busyCpuMs) armed = true;
    if (armed && used < idleCpuMs) {
      armed = false;
      judge = false;
      release();
      options.onRelease?.();
    }
  }, intervalMs);
}
