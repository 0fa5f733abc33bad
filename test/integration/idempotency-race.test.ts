import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { OtpStore } from "../../src/adapters/store/interface";
import { RedisStore } from "../../src/adapters/store/redis";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp } from "../support/harness";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";

/**
 * Two gateways on one Redis, two requests with one Idempotency-Key, the store
 * calls of each slowed so that they interleave as they can on a busy network or
 * a Cluster. Whatever the order, the key's owner alone counts the send: the
 * phone's window holds exactly the SMS that went out, no more, no less.
 */
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
const stores: RedisStore[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The store with some of its calls started late (the calls themselves are the real ones). */
function late(store: OtpStore, delays: Partial<Record<keyof OtpStore, number>>): OtpStore {
  return new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      const ms = delays[name as keyof OtpStore];
      return async (...args: unknown[]) => {
        if (ms) await sleep(ms);
        return value.apply(target, args);
      };
    },
  });
}

async function gateway(delays: Partial<Record<keyof OtpStore, number>>) {
  const store = new RedisStore({ url: SHARED_REDIS_URL, commandTimeoutMs: 1_000, logger });
  stores.push(store);
  expect(await store.connected(5_000)).toBe(true);
  const env = { PHONE_SEND_LIMITS: "1/1m", SEND_BUDGETS: "*=1000/1h" };
  return testApp(startMessaging(fake.url, logger, { retries: 0 }), logger, { store: late(store, delays), env });
}

beforeAll(async () => {
  await Promise.all([fake.start(), flushSharedRedis()]);
});
beforeEach(() => fake.reset());
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await fake.stop();
});

describe("one Idempotency-Key, two gateways, interleaved", () => {
  // A's checks start late; B's claim lands late, while A's send is in flight.
  const a = (ms: number) => gateway({ admitSend: ms, hit: ms });
  const b = () => gateway({ claimIdempotency: 90 });

  test("a duplicate (another spelling of the number) never takes back the event of the SMS its owner sent", async () => {
    // A: claim at 0, checks at 60, a slow upstream; B (from 5): claim at 95, after A's checks.
    const [first, second, plain] = await Promise.all([a(60), b(), a(0)]);
    for (let round = 0; round < 3; round++) {
      const phone = `+9198765${String(40_000 + round).padStart(5, "0")}`;
      const key = { "idempotency-key": crypto.randomUUID() };
      const national = phone.replace("+91", "+910"); // the same number, with its trunk prefix
      fake.fail("/otp/send", { kind: "delay", ms: 150 });
      const [x, y] = await Promise.all([
        first.post("/v1/otp/send", { phone }, key),
        sleep(5).then(() => second.post("/v1/otp/send", { phone: national }, key)),
      ]);
      expect([x.status, y.status].sort()).toEqual([200, 409]);
      // The one SMS holds the phone's 1/1m: a send without a key is refused.
      expect((await plain.post("/v1/otp/send", { phone })).status).toBe(429);
    }
    expect(fake.sms).toHaveLength(3);
  });

  test("an owner whose upstream surely sent nothing frees the phone, a duplicate in flight or not", async () => {
    // A: claim at 0, checks at 160, then the upstream refuses; B (from 5): claim at 95, A in flight
    // (65 ms apart: with 100 the two were 5 ms apart, and a loaded CI machine once ran them the other way).
    const [first, second, plain] = await Promise.all([a(160), b(), a(0)]);
    const phone = "+919876550000";
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "status", status: 402, body: "{}" }); // no credit: surely nothing sent
    const [x, y] = await Promise.all([
      first.post("/v1/otp/send", { phone }, key),
      sleep(5).then(() => second.post("/v1/otp/send", { phone }, key)),
    ]);
    expect([x.status, y.status].sort()).toEqual([409, 503]);
    expect(fake.sms).toHaveLength(0);
    expect((await plain.post("/v1/otp/send", { phone })).status).toBe(200);
  });
});
