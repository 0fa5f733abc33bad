import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PromMetrics } from "../../src/observability/metrics";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, TEST_PEER_HEADER, testApp } from "../support/harness";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

/** The value of one series in a Prometheus text page, or undefined. */
function sample(page: string, series: string): number | undefined {
  const line = page.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("GET /metrics", () => {
  test("counts sends, verifies, denials by scope, upstream calls and retries", async () => {
    const { logger } = captureLogger();
    const metrics = new PromMetrics({ version: "0.0.0-test" });
    const env = { IP_SEND_LIMITS: "3/1m", ALLOWED_COUNTRIES: "IN", PHONE_SEND_LIMITS: "1/1m" };
    const client = testApp(startMessaging(fake.url, logger, { metrics }), logger, { env, metrics });
    const send = (phone: string, peer: string) =>
      client.post("/v1/otp/send", { phone }, { [TEST_PEER_HEADER]: peer });
    const sent = (await (await send("+919876502001", "192.0.2.1")).json()) as { verificationId: string };
    expect((await send("+919876502001", "192.0.2.2")).status).toBe(429); // phone
    expect((await send("+14155552671", "192.0.2.3")).status).toBe(403); // country
    for (let i = 0; i < 4; i++) await send("+919876502002", "192.0.2.9"); // sent, phone, phone, ip
    fake.fail("/otp/send", { kind: "status", status: 503, body: "busy" });
    await send("+919876502003", "192.0.2.4"); // one retry, then sent
    const verified = await client.post("/v1/otp/verify", {
      verificationId: sent.verificationId,
      code: fake.sentCode(sent.verificationId),
    });
    expect(await verified.json()).toEqual({ verified: true });
    await client.post("/v1/otp/verify", { verificationId: "otp_unknown", code: "123456" });
    await Bun.sleep(20); // outcomes are counted just after each response

    const res = await client.get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const page = await res.text();
    expect(sample(page, 'otp_gateway_sends_total{outcome="sent"}')).toBe(3);
    expect(sample(page, 'otp_gateway_sends_total{outcome="rate_limited"}')).toBe(4);
    expect(sample(page, 'otp_gateway_sends_total{outcome="country_not_allowed"}')).toBe(1);
    expect(sample(page, 'otp_gateway_rate_limited_total{scope="phone"}')).toBe(3);
    expect(sample(page, 'otp_gateway_rate_limited_total{scope="ip"}')).toBe(1);
    expect(sample(page, 'otp_gateway_rate_limited_total{scope="country"}')).toBe(1);
    expect(sample(page, 'otp_gateway_verifies_total{outcome="verified"}')).toBe(1);
    expect(sample(page, 'otp_gateway_verifies_total{outcome="not_verified"}')).toBe(1);
    expect(sample(page, 'otp_gateway_upstream_retries_total{endpoint="send"}')).toBe(1);
    expect(
      sample(page, 'otp_gateway_upstream_request_duration_seconds_count{endpoint="send",status_class="2xx"}'),
    ).toBe(3);
    expect(
      sample(page, 'otp_gateway_upstream_request_duration_seconds_count{endpoint="send",status_class="5xx"}'),
    ).toBe(1);
    expect(page).toContain(`otp_gateway_build_info{version="0.0.0-test",bun="${Bun.version}"} 1`);
    expect(page).toContain("otp_gateway_http_requests_in_flight");
    expect(page).toContain("process_resident_memory_bytes");
  });

  test("METRICS_ACCESS=token needs ADMIN_TOKEN; off removes the route", async () => {
    const { logger } = captureLogger();
    const token = "admin-token-0123456789";
    const guarded = testApp(startMessaging(fake.url, logger), logger, {
      env: { METRICS_ACCESS: "token", ADMIN_TOKEN: token },
    });
    expect((await guarded.get("/metrics")).status).toBe(401);
    expect((await guarded.get("/metrics", { authorization: "Bearer wrong-token-0123456789" })).status).toBe(
      401,
    );
    expect((await guarded.get("/metrics", { authorization: `Bearer ${token}` })).status).toBe(200);
    const off = testApp(startMessaging(fake.url, logger), logger, { env: { METRICS_ACCESS: "off" } });
    expect((await off.get("/metrics")).status).toBe(404);
  });

  test("DOCS_ACCESS=token puts the UI, document and assets behind ADMIN_TOKEN with a browser prompt", async () => {
    const { logger } = captureLogger();
    const token = "admin-token-0123456789";
    const client = testApp(startMessaging(fake.url, logger), logger, {
      env: { DOCS_ACCESS: "token", ADMIN_TOKEN: token },
    });
    for (const path of ["/swagger", "/swagger/json", "/swagger/assets/swagger-ui.css"]) {
      const res = await client.get(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toStartWith("Basic ");
    }
    const basic = `Basic ${Buffer.from(`ops:${token}`).toString("base64")}`;
    expect((await client.get("/swagger/json", { authorization: basic })).status).toBe(200);
    expect((await client.get("/healthz")).status).toBe(200);
    const off = testApp(startMessaging(fake.url, logger), logger, { env: { DOCS_ACCESS: "off" } });
    expect((await off.get("/swagger")).status).toBe(404);
  });
});

describe("the request line", () => {
  test("is written exactly once per request, with the status the client got, whatever the answer", async () => {
    const capture = captureLogger();
    const client = testApp(startMessaging(fake.url, capture.logger), capture.logger, {
      env: { IP_SEND_LIMITS: "5/1m", PHONE_SEND_LIMITS: "1/1m" },
    });
    // A route without a response schema that answers with status() (added before the first request compiles the router).
    client.app.get("/test-teapot", ({ status }) => status(418, "short and stout"));
    const raw = (init: RequestInit & { path: string }) =>
      client.app.handle(new Request(`http://localhost${init.path}`, init));
    const answers: { status: number; requestId: string | null }[] = [];
    const keep = async (res: Promise<Response>) => {
      const r = await res;
      answers.push({ status: r.status, requestId: r.headers.get("x-request-id") });
    };
    await keep(client.post("/v1/otp/send", { phone: "+919876503001" })); // 200
    await keep(client.post("/v1/otp/send", { phone: "+919876503001" })); // 429, per phone (service)
    await keep(client.post("/v1/otp/send", { phone: 12 })); // 400, schema
    await keep(
      raw({ path: "/v1/otp/send", method: "POST", headers: { "content-type": "text/plain" }, body: "x" }),
    ); // 415, parser
    await keep(client.post("/v1/otp/send", { phone: "9".repeat(20_000) })); // 413, declared size (onRequest)
    await keep(client.post("/v1/otp/send", {})); // 429, per IP (guard)
    await keep(client.get("/v1/nothing-here")); // 404, no route
    await keep(client.get("/healthz")); // 200, GET
    await keep(client.get("/swagger/json")); // 200, a Response from the handler
    await keep(client.get("/test-teapot")); // 418, a handler's status() on a route without a response schema
    await Bun.sleep(20);
    const lines = capture.lines.map((l) => JSON.parse(l)).filter((e) => e.msg === "request");
    expect(answers.map((a) => a.status)).toEqual([200, 429, 400, 415, 413, 429, 404, 200, 200, 418]);
    expect(lines.map((l) => [l.requestId, l.status])).toEqual(answers.map((a) => [a.requestId, a.status]));
  });
});
