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

describe("ALLOWED_COUNTRIES", () => {
  test("ALLOWED_COUNTRIES refuses other countries with 403 before the upstream is called; IN is the default", async () => {
    const defaults = app({ ALLOWED_COUNTRIES: "IN" });
    await problem(await defaults.post("/v1/otp/send", { phone: "+14155552671" }), 403, "COUNTRY_NOT_ALLOWED");
    expect(fake.calls("/otp/send")).toHaveLength(0);
    expect((await defaults.post("/v1/otp/send", { phone: PHONE })).status).toBe(200);
    const us = app({ ALLOWED_COUNTRIES: "US,GB" });
    expect((await us.post("/v1/otp/send", { phone: "+14155552671" })).status).toBe(200);
  });
});
