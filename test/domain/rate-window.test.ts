import { describe, expect, test } from "bun:test";
import { limitsOf } from "../support/given";

describe("sliding windows", () => {
  test("a fractional clock does not round a full minute up to 61 seconds", async () => {
    const { decide } = await import("../../src/domain/rate-window");
    const windows = limitsOf("1/1m,3/10m");
    for (const now of [1234.5678, 98765.4321, 0.1 + 0.2]) {
      expect(decide([], now, windows)).toMatchObject({
        allowed: true,
        nextAllowedSeconds: 60,
        resetSeconds: 60,
      });
      expect(decide([now], now + 0.3, windows)).toMatchObject({ allowed: false, retryAfterSeconds: 60 });
    }
  });
});
