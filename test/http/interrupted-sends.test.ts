import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import { GatewayError } from "../../src/errors";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { must } from "../support/given";
import { captureLogger, problem, startMessaging, testApp } from "../support/harness";

const PHONE = "+919876543210";
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

describe("sends that fail half-way", () => {
  test("a retry with the same key after a timeout is not refused by the phone limit and sends no second SMS", async () => {
    const client = testApp(startMessaging(fake.url, logger, { timeoutMs: 150 }), logger, {
      env: { PHONE_SEND_LIMITS: "1/1m" },
    });
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "delay", ms: 300 });
    await problem(await client.post("/v1/otp/send", { phone: PHONE }, key), 504, "UPSTREAM_TIMEOUT");
    await Bun.sleep(200); // the slow upstream finishes and sends its SMS
    const retry = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect(((await retry.json()) as { verificationId: string }).verificationId).toEndWith(
      `.${must(fake.sms[0], "the SMS the slow upstream sent").requestId}`,
    );
    expect(fake.sms).toHaveLength(1);
    // A new send for the phone is still refused: the one SMS was counted once.
    await problem(await client.post("/v1/otp/send", { phone: PHONE }), 429, "RATE_LIMITED");
  });

  test("that retry uses no budget of its own: the timed-out attempt holds the one SMS's share", async () => {
    const client = testApp(startMessaging(fake.url, logger, { timeoutMs: 150 }), logger, {
      env: { SEND_BUDGETS: "*=1/1h" },
    });
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "delay", ms: 300 });
    await problem(await client.post("/v1/otp/send", { phone: PHONE }, key), 504, "UPSTREAM_TIMEOUT");
    await Bun.sleep(200);
    const retry = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect(fake.sms).toHaveLength(1);
    // The budget of 1 was spent once, by the one SMS: the next number is refused.
    await problem(
      await client.post("/v1/otp/send", { phone: "+919812345678" }),
      503,
      "SEND_BUDGET_EXHAUSTED",
    );
  });

  test("an upstream replay of a used id after the gateway forgot the key cannot verify twice", async () => {
    const reusable = await new FakeStartMessaging({ reusableCodes: true }).start();
    try {
      const client = testApp(startMessaging(reusable.url, logger), logger, {
        env: { IDEMPOTENCY_TTL: "200ms", PHONE_SEND_LIMITS: "10000/200ms" },
      });
      const key = { "idempotency-key": crypto.randomUUID() };
      const { verificationId: requestId } = (await (
        await client.post("/v1/otp/send", { phone: PHONE }, key)
      ).json()) as { verificationId: string };
      const code = reusable.sentCode(requestId);
      expect(await (await client.post("/v1/otp/verify", { verificationId: requestId, code })).json()).toEqual(
        {
          verified: true,
        },
      );
      await Bun.sleep(250);
      const replay = (await (await client.post("/v1/otp/send", { phone: PHONE }, key)).json()) as {
        verificationId: string;
      };
      expect(replay.verificationId).toBe(requestId);
      expect(await (await client.post("/v1/otp/verify", { verificationId: requestId, code })).json()).toEqual(
        {
          verified: false,
        },
      );
    } finally {
      await reusable.stop();
    }
  });

  test("a key whose answer was stored but whose record was not: the retry records it, one SMS, and the code verifies", async () => {
    const store = new MemoryStore();
    const record = store.record.bind(store);
    let failures = 2; // both writes of the first request (the write and its one retry)
    // The record step fails half-way: the key's answer is stored, the id's record is not.
    store.record = async (ticket, sent) => {
      if (failures-- <= 0) return record(ticket, sent);
      await record(ticket, { ...sent, id: { tag: "0000000000000000", inner: "lost" } });
      throw new GatewayError("STORE_UNAVAILABLE");
    };
    const client = testApp(startMessaging(fake.url, logger), logger, { store });
    const key = { "idempotency-key": crypto.randomUUID() };
    await problem(await client.post("/v1/otp/send", { phone: PHONE }, key), 503, "STORE_UNAVAILABLE");
    const retry = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBeNull(); // sent again, not replayed unrecorded
    const { verificationId: requestId } = (await retry.json()) as { verificationId: string };
    expect(fake.sms).toHaveLength(1); // the upstream deduplicated the second call
    const verified = await client.post("/v1/otp/verify", {
      verificationId: requestId,
      code: fake.sentCode(requestId),
    });
    expect(await verified.json()).toEqual({ verified: true });
  });

  test("when the code went out but cannot be recorded, the answer says so instead of 'nothing was sent'", async () => {
    const store = new MemoryStore();
    store.record = async () => {
      throw new GatewayError("STORE_UNAVAILABLE");
    };
    const client = testApp(startMessaging(fake.url, logger), logger, { store });
    const res = await client.post("/v1/otp/send", { phone: PHONE });
    const body = await problem(res, 503, "STORE_UNAVAILABLE");
    expect(body.detail).toContain("may have been sent");
    expect(fake.sms).toHaveLength(1);
  });
});
