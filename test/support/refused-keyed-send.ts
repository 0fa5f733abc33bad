import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { OtpStore } from "../../src/adapters/store/port";
import { FakeStartMessaging } from "./fake-startmessaging";
import { captureLogger, startMessaging, testApp } from "./harness";

/**
 * A keyed send binds its Idempotency-Key to its phone beside the admission step;
 * a refused send keeps neither claim nor binding, on every store, so the caller
 * may correct the number and retry with the key. (First written by an outside
 * review: the binding outlived the refusal on Redis.)
 */
export function refusedKeyedSend(name: string, open: () => Promise<OtpStore>) {
  describe(`${name} store: a refused keyed send`, () => {
    const fake = new FakeStartMessaging();
    const { logger } = captureLogger();
    const stores: OtpStore[] = [];
    beforeAll(() => fake.start());
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await fake.stop();
    });

    test("leaves its Idempotency-Key free for the corrected phone number", async () => {
      const store = await open();
      stores.push(store);
      const gw = testApp(startMessaging(fake.url, logger, { retries: 0 }), logger, {
        store,
        env: { PHONE_SEND_LIMITS: "1/1m" },
      });
      // Two phones of two ranges: the typo'd one has used its 1/1m already.
      const suffix = String(Math.floor(Math.random() * 90_000) + 10_000);
      const [typo, meant] = [
        `+91981${name === "redis" ? 11 : 12}${suffix}`,
        `+91982${name === "redis" ? 21 : 22}${suffix}`,
      ];
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
