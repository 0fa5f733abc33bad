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

describe("caller keys (GATEWAY_API_KEYS)", () => {
  test("GATEWAY_API_KEYS: send and verify need a Bearer key; health and docs do not", async () => {
    const client = app({ GATEWAY_API_KEYS: "key-one-0123456789,key-two-0123456789" });
    const none = await client.post("/v1/otp/send", { phone: PHONE });
    await problem(none, 401, "UNAUTHORIZED");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    await problem(
      await client.post("/v1/otp/send", { phone: PHONE }, { authorization: "Bearer key-one-012345678" }),
      401,
      "UNAUTHORIZED",
    );
    await problem(
      await client.post(
        "/v1/otp/verify",
        { verificationId: "otp_x", code: "1234" },
        { authorization: "Basic a2V5" },
      ),
      401,
      "UNAUTHORIZED",
    );
    expect(
      (await client.post("/v1/otp/send", { phone: PHONE }, { authorization: "Bearer key-two-0123456789" }))
        .status,
    ).toBe(200);
    expect((await client.get("/healthz")).status).toBe(200);
    expect((await client.get("/swagger/json")).status).toBe(200);
    expect(fake.calls("/otp/send")).toHaveLength(1);
  });
});
