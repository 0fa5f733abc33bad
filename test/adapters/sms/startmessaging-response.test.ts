import { describe, expect, test } from "bun:test";

describe("upstream expiry", () => {
  test("reads ISO, epoch ms and epoch seconds, and refuses past or far-future dates", async () => {
    const { readExpiresAt } = await import("../../../src/adapters/sms/startmessaging-response");
    const now = Date.parse("2026-11-25T10:00:00Z");
    const at = (expiresAt: unknown) => readExpiresAt({ data: { expiresAt } }, now)?.toISOString();
    expect(at("2026-11-25T10:05:00Z")).toBe("2026-11-25T10:05:00.000Z");
    expect(at(now + 300_000)).toBe("2026-11-25T10:05:00.000Z");
    expect(at((now + 300_000) / 1000)).toBe("2026-11-25T10:05:00.000Z");
    expect(at("2026-11-25T09:00:00Z")).toBeUndefined();
    expect(at(8.64e15)).toBeUndefined();
    expect(at("soon")).toBeUndefined();
  });
});
