import { describe, expect, test } from "bun:test";
import { ConsoleProvider } from "../../../src/adapters/sms/console";
import { captureLogger, codeFromLog } from "../../support/harness";

function setup(maxEntries?: number) {
  let now = 1_000_000;
  const { logger, lines } = captureLogger();
  const provider = new ConsoleProvider({
    codeLength: 6,
    ttlMs: 60_000,
    maxAttempts: 3,
    logger,
    now: () => now,
    maxEntries,
  });
  return { provider, lines, advance: (ms: number) => (now += ms) };
}

describe("the console provider", () => {
  test("prints a 6-digit code in exactly one log line, with the phone masked", async () => {
    const { provider, lines } = setup();
    const { requestId } = await provider.send({ phone: "+919876543210", idempotencyKey: "k1" });
    const code = codeFromLog(lines, requestId);
    expect(code).toMatch(/^[0-9]{6}$/);
    expect(lines.filter((l) => l.includes(`"${code}"`))).toHaveLength(1);
    expect(lines.join("\n")).not.toContain("+919876543210");
    expect(lines.join("\n")).toContain("+91******3210");
  });

  test("a code expires after OTP_TTL", async () => {
    const { provider, lines, advance } = setup();
    const { requestId, expiresAt } = await provider.send({ phone: "+919876543210", idempotencyKey: "k1" });
    expect(expiresAt.getTime()).toBe(1_060_000);
    advance(60_000);
    expect(await provider.verify({ requestId, code: codeFromLog(lines, requestId) })).toEqual({
      verified: false,
      reason: "expired",
    });
  });

  test("a resend invalidates the previous code", async () => {
    const { provider, lines } = setup();
    const first = await provider.send({ phone: "+919876543210", idempotencyKey: "k1" });
    await provider.send({ phone: "+919876543210", idempotencyKey: "k2" });
    expect(
      await provider.verify({ requestId: first.requestId, code: codeFromLog(lines, first.requestId) }),
    ).toEqual({
      verified: false,
      reason: "unknown",
    });
  });

  test("after the allowed attempts the right code no longer works", async () => {
    const { provider, lines } = setup();
    const { requestId } = await provider.send({ phone: "+919876543210", idempotencyKey: "k1" });
    const code = codeFromLog(lines, requestId);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 3; i++) {
      expect(await provider.verify({ requestId, code: wrong })).toEqual({
        verified: false,
        reason: "wrong_code",
      });
    }
    expect(await provider.verify({ requestId, code })).toEqual({ verified: false, reason: "exhausted" });
  });

  test("two concurrent verifies of one correct code: exactly one succeeds", async () => {
    const { provider, lines } = setup();
    const { requestId } = await provider.send({ phone: "+919876543210", idempotencyKey: "k1" });
    const code = codeFromLog(lines, requestId);
    let release!: () => void;
    const barrier = new Promise<void>((r) => (release = r));
    const racers = Array.from({ length: 10 }, () => barrier.then(() => provider.verify({ requestId, code })));
    release();
    const results = await Promise.all(racers);
    expect(results.filter((r) => r.verified)).toHaveLength(1);
  });

  test("an idempotency key replays the first answer; with another phone it conflicts", async () => {
    const { provider, lines } = setup();
    const first = await provider.send({ phone: "+919876543210", idempotencyKey: "same" });
    expect(await provider.send({ phone: "+919876543210", idempotencyKey: "same" })).toEqual(first);
    expect(lines.filter((l) => l.includes("OTP code"))).toHaveLength(1);
    expect(provider.send({ phone: "+919812345678", idempotencyKey: "same" })).rejects.toMatchObject({
      code: "IDEMPOTENCY_CONFLICT",
    });
  });

  test("memory stays bounded: the oldest codes are dropped past maxEntries", async () => {
    const { provider, lines } = setup(100);
    const first = await provider.send({ phone: "+919800000000", idempotencyKey: "k0" });
    for (let i = 1; i <= 150; i++) {
      await provider.send({ phone: `+9198000${String(i).padStart(5, "0")}`, idempotencyKey: `k${i}` });
    }
    expect(
      await provider.verify({ requestId: first.requestId, code: codeFromLog(lines, first.requestId) }),
    ).toEqual({
      verified: false,
      reason: "unknown",
    });
  });
});
