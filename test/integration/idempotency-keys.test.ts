import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import type { OtpStore } from "../../src/adapters/store/port";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp } from "../support/harness";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";

/**
 * A keyed send binds its Idempotency-Key to its phone beside the admission step;
 * a refused send keeps neither claim nor binding, on every store, so the caller
 * may correct the number and retry with the key. (First written by an outside
 * review: the binding outlived the refusal on Redis.)
 */
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
const stores: OtpStore[] = [];

beforeAll(async () => {
  await Promise.all([fake.start(), flushSharedRedis()]);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await fake.stop();
});

const opens: [string, () => Promise<OtpStore>][] = [
  ["memory", async () => new MemoryStore()],
  [
    "redis",
    async () => {
      const s = new RedisStore({ url: SHARED_REDIS_URL, commandTimeoutMs: 1_000, logger });
      expect(await s.connected(5_000)).toBe(true);
      return s;
    },
  ],
];

for (const [name, open] of opens) {
  describe(`${name} store: a refused keyed send`, () => {
    test("leaves its Idempotency-Key free for the corrected phone number", async () => {
      const store = await open();
      stores.push(store);
      const gw = testApp(startMessaging(fake.url, logger, { retries: 0 }), logger, {
        store,
        env: { PHONE_SEND_LIMITS: "1/1m" },
      });
      // Two phones of two ranges: the typo'd one has used its 1/1m already.
      const suffix = String(Math.floor(Math.random() * 90_000) + 10_000);
      const [typo, meant] = [`+91981${name === "redis" ? 11 : 12}${suffix}`, `+91982${name === "redis" ? 21 : 22}${suffix}`];
      expect((await gw.post("/v1/otp/send", { phone: typo })).status).toBe(200);
      const key = { "idempotency-key": crypto.randomUUID() };
      const refused = await gw.post("/v1/otp/send", { phone: typo }, key);
      expect(refused.status, await refused.text()).toBe(429);
      // Nothing went out with the key, nothing was claimed: the caller fixes the number and retries.
      const retried = await gw.post("/v1/otp/send", { phone: meant }, key);
      expect(retried.status, await retried.text()).toBe(200);
    });
  });
}
