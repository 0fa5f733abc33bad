import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { rawRequest, socketGateway } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const gateway = (env: Record<string, string> = {}) => socketGateway(fake.url, env);

let phones = 0;
const nextPhone = () => `+9198${String(20_000_000 + phones++).padStart(8, "0")}`;

describe("/readyz under a flood", () => {
  test("300 concurrent checks against a hanging upstream make one upstream probe; a send is not held up", async () => {
    const { base, port, stop } = gateway();
    try {
      fake.fail("/", { kind: "delay", ms: 1_500 });
      // Raw sockets, not fetch: this process's own fetches (the gateway's among them) share one pool of 256.
      const checks = Array.from({ length: 300 }, () =>
        rawRequest(port, "GET /readyz HTTP/1.1\r\nHost: otp").then((r) => r.status),
      );
      await Bun.sleep(50);
      const started = performance.now();
      const sent = await fetch(`${base}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phone: nextPhone() }),
      });
      expect(sent.status).toBe(200);
      const sendMs = performance.now() - started;
      expect(new Set(await Promise.all(checks))).toEqual(new Set([200])); // ready: the upstream is informational
      expect(fake.requests.filter((r) => r.method === "HEAD")).toHaveLength(1);
      expect(sendMs).toBeLessThan(1_000);
    } finally {
      await stop();
    }
  });
});
