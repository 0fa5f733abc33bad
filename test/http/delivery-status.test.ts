import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
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
      await Bun.sleep(700);
      expect(await gateway.page()).toContain(
        'otp_gateway_delivery_seconds_count{country="IN",status="unknown"} 1',
      );
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
});
