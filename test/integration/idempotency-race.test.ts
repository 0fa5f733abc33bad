import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
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

/** Calls started late: the send's admission step, and the key's binding to its phone (asked beside it). */
interface Delays {
  admit?: number;
  ownIdempotency?: number;
}

/** `target` with the functions named in `delays` started late (the calls themselves are the real ones). */
function late<T extends object>(target: T, delays: Record<string, number | undefined>): T {
  return new Proxy(target, {
    get(object, name) {
      const value = Reflect.get(object, name, object);
      if (typeof value !== "function") return value;
      const ms = delays[String(name)];
      if (!ms) return value.bind(object);
      return async (...args: unknown[]) => {
        await sleep(ms);
        return value.apply(object, args);
      };
    },
  });
}

async function gateway(delays: Delays) {
  const store = new RedisStore({
    url: SHARED_REDIS_URL,
    commandTimeoutMs: 1_000,
    logger,
    wrapClient: (client) => late(client, { otpOwnIdempotency: delays.ownIdempotency }),
  });
  stores.push(store);
  expect(await store.connected(5_000)).toBe(true);
  const env = { PHONE_SEND_LIMITS: "1/1m", SEND_BUDGETS: "*=1000/1h" };
  return testApp(startMessaging(fake.url, logger, { retries: 0 }), logger, {
    store: late(store, { admit: delays.admit }),
    env,
  });
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
  // The key's claim is taken in the send's admission step, with the phone's windows: A's on time,
  // B's landing late, while A's send is in flight.
  const a = (delays: Delays = {}) => gateway(delays);
  const b = (ms: number) => gateway({ admit: ms });

  test("a duplicate (another spelling of the number) in flight finds the claim and never takes back the owner's event", async () => {
    const [first, second, plain] = await Promise.all([a(), b(60), a()]);
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
      expect((await y.json()) as { code: string }).toMatchObject({ code: "IDEMPOTENCY_IN_PROGRESS" });
      // The one SMS holds the phone's 1/1m: a send without a key is refused.
      expect((await plain.post("/v1/otp/send", { phone })).status).toBe(429);
    }
    expect(fake.sms).toHaveLength(3);
  });

  test("a duplicate's binding of the key may land first: the claim still decides, one SMS", async () => {
    // A's binding lands 40 ms late: B (from 5) binds the key to the phone first, A finds it bound to its own.
    const [first, second, plain] = await Promise.all([a({ ownIdempotency: 40 }), b(60), a()]);
    const phone = "+919876540100";
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "delay", ms: 150 });
    const [x, y] = await Promise.all([
      first.post("/v1/otp/send", { phone }, key),
      sleep(5).then(() => second.post("/v1/otp/send", { phone }, key)),
    ]);
    expect([x.status, y.status]).toEqual([200, 409]);
    expect((await plain.post("/v1/otp/send", { phone })).status).toBe(429);
    expect(fake.sms).toHaveLength(1);
  });

  test("an owner whose upstream surely sent nothing frees the phone, a duplicate in flight or not", async () => {
    const [first, second, plain] = await Promise.all([a(), b(60), a()]);
    const phone = "+919876550000";
    const key = { "idempotency-key": crypto.randomUUID() };
    // No credit (surely nothing sent), answered after 150 ms: B's step lands while A waits.
    fake.fail("/otp/send", { kind: "status", status: 402, body: "{}", delayMs: 150 });
    const [x, y] = await Promise.all([
      first.post("/v1/otp/send", { phone }, key),
      sleep(5).then(() => second.post("/v1/otp/send", { phone }, key)),
    ]);
    expect([x.status, y.status].sort()).toEqual([409, 503]);
    expect(fake.sms).toHaveLength(0);
    expect((await plain.post("/v1/otp/send", { phone })).status).toBe(200);
  });

  test("one key for phones of two ranges at once: one SMS, a 409, and the other phone keeps nothing", async () => {
    // Each claim is under its own phone's tag, so both are taken; the key's binding (A's first:
    // B's lands 30 ms late) finds B out, and B gives back what its step counted.
    const [first, second, plain] = await Promise.all([a(), a({ ownIdempotency: 30 }), a()]);
    const [mine, theirs] = ["+919876560000", "+919812560000"];
    const key = { "idempotency-key": crypto.randomUUID() };
    const [x, y] = await Promise.all([
      first.post("/v1/otp/send", { phone: mine }, key),
      second.post("/v1/otp/send", { phone: theirs }, key),
    ]);
    expect([x.status, y.status]).toEqual([200, 409]);
    expect((await y.json()) as { code: string }).toMatchObject({ code: "IDEMPOTENCY_CONFLICT" });
    expect(fake.sms.map((m) => m.phone)).toEqual([mine]);
    // The loser's phone window was given back (1/1m), and its claim: the key stays A's.
    expect((await plain.post("/v1/otp/send", { phone: theirs })).status).toBe(200);
    expect((await plain.post("/v1/otp/send", { phone: mine })).status).toBe(429);
    expect((await second.post("/v1/otp/send", { phone: mine }, key)).headers.get("idempotent-replayed")).toBe(
      "true",
    );
  });
});
