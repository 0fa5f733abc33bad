import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, problem, startMessaging, testApp } from "../support/harness";

const PHONE = "+919876543210";
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const app = (env: Record<string, string> = {}) => testApp(startMessaging(fake.url, logger), logger, { env });

describe("per-phone send limits", () => {
  test("the default 1/1m refuses a second send with 429, Retry-After and RateLimit headers, and no SMS", async () => {
    const client = app({ PHONE_SEND_LIMITS: "1/1m,3/10m,5/1h,10/24h" });
    const first = await client.post("/v1/otp/send", { phone: PHONE });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { resendAfter: number }).resendAfter).toBe(60);

    const second = await client.post("/v1/otp/send", { phone: PHONE });
    const body = await problem(second, 429, "RATE_LIMITED");
    const retryAfter = Number(second.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(second.headers.get("ratelimit-policy")).toBe(
      '"phone-1m";q=1;w=60, "phone-10m";q=3;w=600, "phone-1h";q=5;w=3600, "phone-24h";q=10;w=86400',
    );
    expect(second.headers.get("ratelimit")).toMatch(/^"phone-1m";r=0;t=(59|60)$/);
    // The message does not say which window was hit.
    expect(body.detail).not.toMatch(/1m|minute|window/);
    expect(fake.sms).toHaveLength(1);
  });

  test("a send the upstream refused outright is not counted", async () => {
    const client = app({ PHONE_SEND_LIMITS: "1/1m" });
    fake.fail("/otp/send", { kind: "status", status: 402, body: "{}" });
    expect((await client.post("/v1/otp/send", { phone: PHONE })).status).toBe(503);
    expect((await client.post("/v1/otp/send", { phone: PHONE })).status).toBe(200);
  });

  test("50 parallel sends for one phone: exactly the limit gets through", async () => {
    const client = app({ PHONE_SEND_LIMITS: "7/1m" });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => client.post("/v1/otp/send", { phone: PHONE })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    expect(statuses.filter((s) => s === 429)).toHaveLength(43);
    expect(fake.calls("/otp/send")).toHaveLength(7);
  });
});
