import { describe, expect, test } from "bun:test";
import { generateCode } from "../../src/domain/otp-code";

describe("codes", () => {
  test("have the asked length and use every digit about equally", () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 2_000; i++) {
      const code = generateCode(8);
      expect(code).toMatch(/^[0-9]{8}$/);
      for (const ch of code) counts[Number(ch)]++;
    }
    // 16000 digits: each expected 1600; a biased generator (byte % 10) skews 0-5 by ~+2.5%.
    for (const c of counts) expect(Math.abs(c - 1600)).toBeLessThan(200);
  });
});
