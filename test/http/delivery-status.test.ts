import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import { deliveryGateway } from "../support/delivery";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { must } from "../support/given";

/**
 * Delivery status, followed by polling StartMessaging's GET /messages/{id} (the reference shape's
 * send answer carries the message id), over real sockets on both sides. The polls' backoff is cut
 * to tens of milliseconds here; everything else is as shipped.
 */
const fake = new FakeStartMessaging({ shape: "reference" });
const shortLived = new FakeStartMessaging({ shape: "reference", ttlMs: 500 });
beforeAll(async () => {
  await Promise.all([fake.start(), shortLived.start()]);
});
afterAll(async () => {
  await Promise.all([fake.stop(), shortLived.stop()]);
});
beforeEach(() => fake.reset());

/** Polls `read` until it returns `want` (or fails after 3 s). */
async function until(read: () => Promise<string>, want: string): Promise<void> {
  const started = performance.now();
  let got = await read();
  while (got !== want && performance.now() - started < 3_000) {
    await Bun.sleep(20);
    got = await read();
  }
  expect(got).toBe(want);
}

const messagePolls = (upstream: FakeStartMessaging, verificationId: string) => {
  const inner = verificationId.split(".")[1];
  const messageId = must(upstream.sms.find((m) => m.requestId === inner)?.messageId, "a message id");
  return upstream.requests.filter((r) => r.path === `/messages/${messageId}`).length;
};

describe("delivery status (DELIVERY_STATUS=poll, the default)", () => {
  test("queued, sent, delivered: each step on the verification, then the polls stop and the metric counts it", async () => {
    const gateway = deliveryGateway(fake.url);
    try {
      const id = await gateway.send("+919876540001");
      const first = await gateway.delivery(id);
      expect(first.status).toBe("unknown");
      await until(async () => (await gateway.delivery(id)).status, "queued");
      fake.setDelivery(id, "sent");
      await until(async () => (await gateway.delivery(id)).status, "sent");
      fake.setDelivery(id, "delivered");
      await until(async () => (await gateway.delivery(id)).status, "delivered");
      const final = await gateway.delivery(id);
      expect(Date.parse(final.updatedAt)).toBeGreaterThan(Date.parse(first.updatedAt));
      const polls = messagePolls(fake, id);
      await Bun.sleep(300);
      expect(messagePolls(fake, id)).toBe(polls);
      expect(await gateway.page()).toContain(
        'otp_gateway_delivery_seconds_count{country="IN",status="delivered"} 1',
      );
      // Every poll carried the key; none of it reached a log line.
      const asked = fake.requests.filter((r) => r.path.startsWith("/messages/"));
      expect(asked.every((r) => r.headers["x-api-key"] === "sm_test_fake_key")).toBe(true);
      expect(gateway.lines.join("\n")).not.toContain("sm_test_fake_key");
    } finally {
      await gateway.stop();
    }
  });

  test("failed is final too; a report never moves a delivery back", async () => {
    const gateway = deliveryGateway(fake.url);
    try {
      const id = await gateway.send("+919876540002");
      fake.setDelivery(id, "failed");
      await until(async () => (await gateway.delivery(id)).status, "failed");
      expect(await gateway.page()).toContain(
        'otp_gateway_delivery_seconds_count{country="IN",status="failed"} 1',
      );
    } finally {
      await gateway.stop();
    }
  });

  test("an upstream that fails, answers junk or stalls only delays it: the gateway keeps asking, sends go on", async () => {
    const gateway = deliveryGateway(fake.url);
    try {
      const id = await gateway.send("+919876540003");
      const inner = id.split(".")[1];
      const messageId = must(fake.sms.find((m) => m.requestId === inner)?.messageId, "a message id");
      const path = `/messages/${messageId}`;
      fake.fail(path, { kind: "status", status: 500, body: "oops" }, 2);
      fake.fail(path, { kind: "status", status: 200, body: "not json" });
      fake.fail(path, { kind: "status", status: 200, body: '{"status":"teleported"}' });
      fake.fail(path, { kind: "status", status: 429, headers: { "retry-after": "1" } });
      fake.setDelivery(id, "delivered");
      await until(async () => (await gateway.delivery(id)).status, "delivered");
      expect(await gateway.send("+919876540004")).toContain(".");
    } finally {
      await gateway.stop();
    }
  });

  test("a code that expires before a final report: its delivery stays unknown to the metric, and the polls stop", async () => {
    const gateway = deliveryGateway(shortLived.url, {}, { codeTtlMs: 500 });
    try {
      const id = await gateway.send("+919876540005");
      await until(async () => (await gateway.delivery(id)).status, "queued");
      // Given up at the code's expiry (500 ms), or at the first look after it while the pace holds the poll back.
      const unknown = 'otp_gateway_delivery_seconds_count{country="IN",status="unknown"} 1';
      await until(async () => String((await gateway.page()).includes(unknown)), "true");
      const polls = messagePolls(shortLived, id);
      await Bun.sleep(200);
      expect(messagePolls(shortLived, id)).toBe(polls);
    } finally {
      await gateway.stop();
    }
  });

  test("DELIVERY_STATUS=off: the upstream is never asked", async () => {
    const gateway = deliveryGateway(fake.url, { DELIVERY_STATUS: "off" });
    try {
      const id = await gateway.send("+919876540006");
      await Bun.sleep(300);
      expect(fake.requests.filter((r) => r.path.startsWith("/messages/"))).toHaveLength(0);
      expect((await gateway.delivery(id)).status).toBe("unknown");
    } finally {
      await gateway.stop();
    }
  });

  test("while the pace is full, waiting polls cost the store one call a wait, not one each", async () => {
    const store = new MemoryStore();
    let asked = 0;
    const take = store.takeDeliveryPoll.bind(store);
    store.takeDeliveryPoll = (pace) => {
      asked += 1;
      return take(pace);
    };
    const gateway = deliveryGateway(fake.url, { DELIVERY_POLL_PACE: "1/1s" }, { backoffMs: [10], store });
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => gateway.send(`+9198765${String(42000 + i)}`)));
      await Bun.sleep(1_500);
      const polls = fake.requests.filter((r) => r.path.startsWith("/messages/")).length;
      expect(polls).toBeGreaterThanOrEqual(1);
      expect(polls).toBeLessThanOrEqual(3);
      // About one store call per 250 ms wait, plus the polls: far from 40 deliveries asking each.
      expect(asked).toBeLessThan(20);
    } finally {
      await gateway.stop();
    }
  });

  test("a slow upstream holds at most 8 polls at once; a 429 stops every poll for its Retry-After", async () => {
    const gateway = deliveryGateway(fake.url, { DELIVERY_POLL_PACE: "1000/1s" }, { backoffMs: [10] });
    try {
      fake.messageDelayMs = 300;
      const ids = await Promise.all(
        Array.from({ length: 30 }, (_, i) => gateway.send(`+9198765${String(43000 + i)}`)),
      );
      await Bun.sleep(800);
      expect(fake.messagesInFlightMax).toBeGreaterThan(1);
      expect(fake.messagesInFlightMax).toBeLessThanOrEqual(8);
      // Every message answers 429 once, asking for a second's pause.
      fake.messageDelayMs = 0;
      for (const id of ids) {
        const inner = id.split(".")[1];
        const messageId = must(fake.sms.find((m) => m.requestId === inner)?.messageId, "a message id");
        fake.fail(`/messages/${messageId}`, { kind: "status", status: 429, headers: { "retry-after": "1" } });
      }
      const faultsSet = Date.now();
      const started = performance.now();
      while (
        !fake.requestTimes("/messages/").some((t) => t >= faultsSet) &&
        performance.now() - started < 3_000
      ) {
        await Bun.sleep(5);
      }
      const first429 = Math.min(...fake.requestTimes("/messages/").filter((t) => t >= faultsSet));
      await Bun.sleep(900);
      // Polls already on their way may land; none starts during the second's pause after that.
      const during = fake.requestTimes("/messages/").filter((t) => t > first429 + 50 && t < first429 + 900);
      expect(during.length).toBeLessThanOrEqual(8);
    } finally {
      await gateway.stop();
    }
  });

  test("stopped with polls in flight, the gateway starts none after", async () => {
    const gateway = deliveryGateway(fake.url, { DELIVERY_POLL_PACE: "1000/1s" }, { backoffMs: [10] });
    fake.messageDelayMs = 100;
    await Promise.all(Array.from({ length: 10 }, (_, i) => gateway.send(`+9198765${String(44000 + i)}`)));
    await Bun.sleep(150);
    await gateway.stop();
    await Bun.sleep(150);
    const atStop = fake.requestTimes("/messages/").length;
    await Bun.sleep(300);
    expect(fake.requestTimes("/messages/").length).toBe(atStop);
  });
});
