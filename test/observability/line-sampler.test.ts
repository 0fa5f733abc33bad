import { describe, expect, test } from "bun:test";
import { LineSampler } from "../../src/observability/line-sampler";

function sampler(perSecond: number) {
  let clock = 0;
  const reports: number[] = [];
  const pending: (() => void)[] = [];
  const s = new LineSampler(
    perSecond,
    (n) => reports.push(n),
    () => clock,
    (fn, ms) => {
      expect(ms).toBe(1_000);
      pending.push(fn);
    },
  );
  const admitted = (n: number) => Array.from({ length: n }, () => s.admit()).filter(Boolean).length;
  const fire = () => {
    for (const fn of pending.splice(0)) fn();
  };
  return { admitted, fire, reports, pending, at: (ms: number) => (clock = ms) };
}

describe("the line sampler", () => {
  test("writes the first lines of each second, counts the rest and reports them once, a second after the first", () => {
    const s = sampler(3);
    expect(s.admitted(10)).toBe(3);
    expect(s.pending).toHaveLength(1); // one report scheduled for the seven
    s.at(999);
    expect(s.admitted(5)).toBe(0);
    expect(s.pending).toHaveLength(1);
    s.fire();
    expect(s.reports).toEqual([12]);
    s.at(1_000); // a new second: three more written
    expect(s.admitted(4)).toBe(3);
    s.fire();
    expect(s.reports).toEqual([12, 1]);
  });

  test("below the rate every line is written and nothing is reported", () => {
    const s = sampler(3);
    for (let second = 0; second < 5; second++) {
      s.at(second * 1_000 + 10);
      expect(s.admitted(3)).toBe(3);
    }
    expect(s.pending).toHaveLength(0);
    expect(s.reports).toEqual([]);
  });

  test("lines held back while a report is pending join that report", () => {
    const s = sampler(1);
    expect(s.admitted(3)).toBe(1);
    s.at(1_500); // the report, due at 1 s, is late
    expect(s.admitted(3)).toBe(1);
    expect(s.pending).toHaveLength(1);
    s.fire();
    expect(s.reports).toEqual([4]);
  });
});
