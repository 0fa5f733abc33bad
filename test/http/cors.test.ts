import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, TEST_PEER_HEADER, testApp } from "../support/harness";
import { postHead, rawRequest, socketGateway } from "../support/socket";

const PHONE = "+919876543210";
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const app = (env: Record<string, string> = {}) => testApp(startMessaging(fake.url, logger), logger, { env });
const gateway = (env: Record<string, string> = {}) => socketGateway(fake.url, env);

let phones = 0;
const nextPhone = () => `+9198${String(20_000_000 + phones++).padStart(8, "0")}`;

describe("CORS_ORIGINS", () => {
  test("CORS_ORIGINS allows the listed origins only", async () => {
    const client = app({ CORS_ORIGINS: "https://app.example" });
    const preflight = await client.app.handle(
      new Request("http://localhost/v1/otp/send", {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      }),
    );
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    // A refusal is readable by the browser too.
    const limited = app({ CORS_ORIGINS: "https://app.example", IP_SEND_LIMITS: "1/1m" });
    const headers = { origin: "https://app.example", [TEST_PEER_HEADER]: "192.0.2.160" };
    await limited.post("/v1/otp/send", "{}", headers);
    const refused = await limited.post("/v1/otp/send", "{}", headers);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(refused.headers.get("access-control-expose-headers")).toContain("retry-after");
    // No cookies here: a cross-origin page never gets to send the browser's credentials along.
    expect(refused.headers.get("access-control-allow-credentials")).toBeNull();
    const any = app({ CORS_ORIGINS: "*" });
    const star = await any.get("/healthz", { origin: "https://evil.example" });
    expect(star.headers.get("access-control-allow-credentials")).toBeNull();
    const other = await client.post("/v1/otp/send", { phone: PHONE }, { origin: "https://evil.example" });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const none = app();
    expect(
      (await none.post("/v1/otp/send", { phone: PHONE }, { origin: "https://app.example" })).headers.get(
        "access-control-allow-origin",
      ),
    ).toBeNull();
  });
});

describe("CORS", () => {
  const preflight = (path: string, origin: string) =>
    `OPTIONS ${path} HTTP/1.1\r\nHost: otp\r\nOrigin: ${origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type`;

  test("a listed origin only, matched exactly: Origin: constructor and look-alikes get nothing", async () => {
    const { port, stop } = gateway({ CORS_ORIGINS: "https://app.example" });
    try {
      const ok = await rawRequest(port, preflight("/v1/otp/send", "https://app.example"));
      expect(ok.status).toBe(204);
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
      expect(ok.headers.get("access-control-allow-credentials")).toBeUndefined();
      for (const origin of [
        "constructor",
        "__proto__",
        "toString",
        "app.example",
        "http://app.example",
        "https://app.example.evil",
      ]) {
        const answer = await rawRequest(port, preflight("/v1/otp/send", origin));
        expect(answer.headers.get("access-control-allow-origin"), origin).toBeUndefined();
      }
    } finally {
      await stop();
    }
  });

  test("with *, admin routes, /metrics and the docs still get no CORS headers; a replay is readable", async () => {
    const { port, stop } = gateway({ CORS_ORIGINS: "*", ADMIN_TOKEN: "an-admin-token-of-length" });
    try {
      for (const path of ["/metrics", "/swagger/json", "/admin/guard"]) {
        const get = await rawRequest(
          port,
          `GET ${path} HTTP/1.1\r\nHost: otp\r\nOrigin: https://evil.example`,
        );
        expect(get.headers.get("access-control-allow-origin"), path).toBeUndefined();
        const pre = await rawRequest(port, preflight(path, "https://evil.example"));
        expect(pre.headers.get("access-control-allow-origin"), path).toBeUndefined();
      }
      const body = JSON.stringify({ phone: nextPhone() });
      const send = (await rawRequest(
        port,
        `${postHead("/v1/otp/send", "otp", body)}\r\nOrigin: https://any.example\r\nIdempotency-Key: k-${phones}`,
        body,
      )) as Awaited<ReturnType<typeof rawRequest>>;
      expect(send.status).toBe(200);
      expect(send.headers.get("access-control-allow-origin")).toBe("*");
      expect(send.headers.get("access-control-expose-headers")).toContain("idempotent-replayed");
      expect(send.headers.get("access-control-allow-credentials")).toBeUndefined();
    } finally {
      await stop();
    }
  });
});
