import { expect, test } from "bun:test";
import type { SmsProvider } from "../../../src/adapters/sms/port";
import type { DeliveryStore } from "../../../src/adapters/store/port";
import { ratePolicy } from "../../../src/domain/rate-policy";
import { DeliveryTracker } from "../../../src/modules/otp/delivery-tracker";
import { createLogger } from "../../../src/observability/logger";
import { PromMetrics } from "../../../src/observability/metrics";
import { limitsOf } from "../../support/given";

/** A tracker whose store answers `takeDeliveryPoll` after `storeMs`, and whose upstream says `queued` (counting its polls). */
function tracker(storeMs: number) {
  const polls: number[] = [];
  const provider = {
    name: "startmessaging",
    send: async () => ({ requestId: "x", expiresAt: new Date(), attemptsLeft: 3 }),
    verify: async () => ({ verified: true }),
    health: async () => ({ ok: true, detail: "" }),
    delivery: async () => {
      polls.push(Date.now());
      return { status: "delivered" as const };
    },
  } satisfies SmsProvider;
  const store: DeliveryStore = {
    recordDelivery: async () => undefined,
    takeDeliveryPoll: async () => {
      await Bun.sleep(storeMs);
      return true;
    },
  };
  const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
  const delivery = new DeliveryTracker({
    provider,
    store,
    metrics,
    logger: createLogger({ level: "silent" }),
    policy: {
      mode: "poll",
      pace: ratePolicy("delivery", limitsOf("100/1s")),
      maxTracked: 100,
      backoffMs: [5],
    },
  });
  const follow = (expiresInMs: number) =>
    delivery.track(
      { tag: "0123456789abcdef", inner: `otp_${crypto.randomUUID()}` },
      { messageId: "msg_1", country: "IN", sentAtMs: Date.now(), expiresAtMs: Date.now() + expiresInMs },
    );
  return { delivery, polls, follow, page: async () => (await metrics.render()).body };
}

test("stopped while the store was placing a poll, the tracker does not make it", async () => {
  const { delivery, polls, follow } = tracker(100);
  follow(10_000);
  await Bun.sleep(30); // the first poll is due at 5 ms; its place is being taken
  delivery.stop();
  await Bun.sleep(200);
  expect(polls).toEqual([]);
});

test("a delivery that expires while its place is taken is not polled: it ends unknown", async () => {
  const { polls, follow, page } = tracker(150);
  follow(60);
  await Bun.sleep(400);
  expect(polls).toEqual([]);
  const body = await page();
  expect(body).toContain('otp_gateway_delivery_seconds_count{country="IN",status="unknown"} 1');
  expect(body).not.toContain('status="delivered"');
});
