import { describe, expect, test } from "bun:test";
import { releaseWhenIdle } from "../../src/lib/idle-release";

/** A release watcher driven by hand: `tick(cpuMsUsed)` runs one interval that used that much CPU. */
function driven(options: { idleCpuMs?: number; busyCpuMs?: number } = {}) {
  let cpu = 0;
  let tickFn: () => void = () => {};
  let stopped = false;
  const releases: number[] = [];
  let ticks = 0;
  const stop = releaseWhenIdle({
    ...options,
    cpuMs: () => cpu,
    release: () => releases.push(ticks),
    every: (tick, ms) => {
      expect(ms).toBe(5_000);
      tickFn = tick;
      return () => {
        stopped = true;
      };
    },
  });
  return {
    tick(used: number) {
      cpu += used;
      ticks++;
      tickFn();
    },
    releases,
    stop,
    get stopped() {
      return stopped;
    },
  };
}

describe("releasing memory when idle", () => {
  test("once after start, at the first idle interval, not again while it stays idle", () => {
    const w = driven();
    w.tick(400); // start-up's first requests: busy
    w.tick(30); // idle: released
    for (let i = 0; i < 20; i++) w.tick(i % 2 ? 1 : 40);
    expect(w.releases).toEqual([2]);
  });

  test("again after a busy stretch, once it is over; a trickle of work does not re-arm it", () => {
    const w = driven();
    w.tick(5); // idle at once: released
    w.tick(60); // the release's own work, not judged
    w.tick(200); // a trickle, under busyCpuMs: not armed again
    w.tick(5);
    expect(w.releases).toEqual([1]);
    w.tick(2_000); // a flood
    w.tick(900);
    w.tick(20); // over: released
    w.tick(3);
    expect(w.releases).toEqual([1, 7]);
  });

  test("the interval after a release is not judged, however little it used", () => {
    const w = driven();
    w.tick(1);
    w.tick(300); // would arm it, but it holds the release's own work
    w.tick(1);
    expect(w.releases).toEqual([1]);
  });

  test("thresholds can be set, and the watcher stops", () => {
    const w = driven({ idleCpuMs: 2, busyCpuMs: 10 });
    w.tick(5); // not idle by 2 ms
    w.tick(1);
    expect(w.releases).toEqual([2]);
    w.stop();
    expect(w.stopped).toBe(true);
  });
});
