import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, problem, startMessaging, testApp } from "../support/harness";
import { refusedKeyedSend } from "../support/refused-keyed-send";
import { completeKey } from "../support/store-steps";

const PHONE = "+919876543210";
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const app = (env: Record<string, string> = {}) => testApp(startMessaging(fake.url, logger), logger, { env });

describe("idempotency keys", () => {
  test("same key and phone: the same answer, one upstream call; another phone: 409", async () => {
    const client = app();
    const key = { "idempotency-key": crypto.randomUUID() };
    const first = await client.post("/v1/otp/send", { phone: PHONE }, key);
    const again = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(await again.json()).toEqual(await first.json());
    expect(fake.calls("/otp/send")).toHaveLength(1);
    await problem(
      await client.post("/v1/otp/send", { phone: "+919812345678" }, key),
      409,
      "IDEMPOTENCY_CONFLICT",
    );
  });

  test("two concurrent sends with one key make one upstream call", async () => {
    const client = app();
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "delay", ms: 150 });
    const [a, b] = await Promise.all([
      client.post("/v1/otp/send", { phone: PHONE }, key),
      client.post("/v1/otp/send", { phone: PHONE }, key),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect((await loser.json()).code).toBe("IDEMPOTENCY_IN_PROGRESS");
    expect(fake.calls("/otp/send")).toHaveLength(1);
  });

  test("concurrent sends with one key: one SMS, and the phone's window still counts it", async () => {
    const client = testApp(startMessaging(fake.url, logger), logger, { env: { PHONE_SEND_LIMITS: "1/1m" } });
    const key = { "idempotency-key": crypto.randomUUID() };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => client.post("/v1/otp/send", { phone: PHONE }, key)),
    );
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);
    expect(fake.sms).toHaveLength(1);
    // The requests that found the key in flight took nothing of the owner's away: a new key is refused.
    await problem(
      await client.post("/v1/otp/send", { phone: PHONE }, { "idempotency-key": crypto.randomUUID() }),
      429,
      "RATE_LIMITED",
    );
    await problem(await client.post("/v1/otp/send", { phone: PHONE }), 429, "RATE_LIMITED");
  });

  test("a failed send frees the key for a retry", async () => {
    const client = app();
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "status", status: 500 }, 3);
    expect((await client.post("/v1/otp/send", { phone: PHONE }, key)).status).toBe(502);
    expect((await client.post("/v1/otp/send", { phone: PHONE }, key)).status).toBe(200);
  });

  test("an answer an earlier release kept for a key, its id under `requestId`, replays as `verificationId`", async () => {
    const store = new MemoryStore();
    const client = testApp(startMessaging(fake.url, logger), logger, { store });
    const old = {
      requestId: "0123456789abcdef.otp_old",
      expiresAt: "2026-12-07T10:05:00.000Z",
      attemptsLeft: 3,
      resendAfter: 60,
    };
    await completeKey(store, "order-old", PHONE, JSON.stringify(old), 60_000);
    const res = await client.post("/v1/otp/send", { phone: PHONE }, { "idempotency-key": "order-old" });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    const { requestId: _, ...rest } = old;
    expect(await res.json()).toEqual({ ...rest, verificationId: old.requestId });
    expect(fake.sms).toHaveLength(0);
  });

  test("with caller keys, one caller's Idempotency-Key neither replays nor blocks another's", async () => {
    const client = app({ GATEWAY_API_KEYS: "caller-a-0123456789,caller-b-0123456789" });
    const a = { authorization: "Bearer caller-a-0123456789", "idempotency-key": "order-1" };
    const b = { authorization: "Bearer caller-b-0123456789", "idempotency-key": "order-1" };
    const first = (await (await client.post("/v1/otp/send", { phone: PHONE }, a)).json()) as {
      verificationId: string;
    };
    const other = await client.post("/v1/otp/send", { phone: "+919812345679" }, b);
    expect(other.status, await other.clone().text()).toBe(200);
    // b's `order-1` is its own, now bound to its other phone: a conflict, never a's answer replayed.
    const sameAsA = await client.post("/v1/otp/send", { phone: PHONE }, b);
    expect(((await sameAsA.json()) as { code?: string }).code).toBe("IDEMPOTENCY_CONFLICT");
    // Nor does a's key block b: b's own fresh key sends to a's phone, a new verification.
    const fresh = await client.post("/v1/otp/send", { phone: PHONE }, { ...b, "idempotency-key": "order-2" });
    const answer = (await fresh.json()) as { verificationId?: string };
    expect(fresh.status).toBe(200);
    expect(answer.verificationId).toBeDefined();
    expect(answer.verificationId).not.toBe(first.verificationId);
  });
});

// A refused keyed send (on Redis too: test/integration/idempotency-keys.test.ts).
refusedKeyedSend("memory", async () => new MemoryStore());
