import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { rawRequest, socketGateway } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const gateway = (env: Record<string, string> = {}) => socketGateway(fake.url, env);

describe("methods, over a real socket", () => {
  test("GET on a POST route is 405 with Allow and no send outcome; OPTIONS answers Allow", async () => {
    const { port, stop, page } = gateway();
    try {
      const wrong = await rawRequest(port, "GET /v1/otp/send HTTP/1.1\r\nHost: otp");
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get("allow")).toBe("POST, OPTIONS");
      expect(JSON.parse(wrong.body).code).toBe("METHOD_NOT_ALLOWED");
      expect(await page()).toContain(`otp_gateway_sends_total{outcome="sent"} 0\n\n`); // no other outcome counted
      const options = await rawRequest(port, "OPTIONS /v1/otp/verify HTTP/1.1\r\nHost: otp");
      expect(options.status).toBe(204);
      expect(options.headers.get("allow")).toBe("POST, OPTIONS");
      expect((await rawRequest(port, "OPTIONS /healthz HTTP/1.1\r\nHost: otp")).headers.get("allow")).toBe(
        "GET, HEAD, OPTIONS",
      );
      expect((await rawRequest(port, "OPTIONS /nope HTTP/1.1\r\nHost: otp")).status).toBe(404);
    } finally {
      await stop();
    }
  });
});
