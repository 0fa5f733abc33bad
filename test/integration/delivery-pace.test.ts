import { afterAll, beforeAll, expect, test } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { deliveryGateway } from "../support/delivery";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger } from "../support/harness";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";

/**
 * Two gateways on one Redis follow 30 deliveries that never end, asking as fast as their backoff
 * lets them (every 10 ms): together they stay under DELIVERY_POLL_PACE, in every second of the run,
 * as StartMessaging's account limit (about 20 requests a second, sends included) needs.
 */
const fake = new FakeStartMessaging({ shape: "reference" });
beforeAll(() => fake.start());
afterAll(() => fake.stop());

test("two gateways sharing a Redis ask about deliveries at most DELIVERY_POLL_PACE together", async () => {
  await flushSharedRedis();
  const { logger } = captureLogger();
  const stores = [0, 1].map(() => new RedisStore({ url: SHARED_REDIS_URL, commandTimeoutMs: 500, logger }));
  for (const store of stores) expect(await store.connected(5_000)).toBe(true);
  const gateways = stores.map((store) =>
    deliveryGateway(fake.url, { DELIVERY_POLL_PACE: "4/1s" }, { backoffMs: [10], store }),
  );
  try {
    const phones = Array.from({ length: 30 }, (_, i) => `+9198765${String(41000 + i).padStart(5, "0")}`);
    await Promise.all(phones.map((phone, i) => gateways[i % 2]?.send(phone)));
    const started = Date.now();
    await Bun.sleep(3_200);
    const times = fake.requestTimes("/messages/").filter((t) => t >= started);
    // Every one-second window of the run holds at most 4 (the pace's exact sliding window).
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(4);
    // And the pace was used: about 4 a second over 3 seconds, from both gateways.
    expect(times.length).toBeGreaterThanOrEqual(8);
  } finally {
    for (const gateway of gateways) await gateway.stop();
    for (const store of stores) await store.close();
  }
}, 20_000);
