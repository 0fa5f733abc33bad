import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../../src/lib/duration";

describe("durations", () => {
  test("read like 500ms, 30s, 10m, 24h, 1d", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    for (const bad of ["", "10", "s", "1.5s", "-1s", "10 sec", "1e3ms", "10S"]) {
      expect(parseDuration(bad)).toBeUndefined();
    }
    expect(formatDuration(600_000)).toBe("10m");
    expect(formatDuration(1_500)).toBe("1500ms");
  });
});
