import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testDeps } from "../support/harness";
import { listenApp } from "../support/socket";
import { validatingProxy } from "./validating-proxy";

const ADMIN = "an-admin-token-of-length";
const CALLER_KEY = "ck_proxy_test_key_0001";
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
let gateway: ReturnType<typeof listenApp>;
let keyed: ReturnType<typeof listenApp>;
beforeAll(async () => {
  await fake.start();
  const env = {
    ADMIN_TOKEN: ADMIN,
    PHONE_SEND_LIMITS: "1/1m",
    SEND_BUDGETS: "*=8/1h",
    ALLOWED_COUNTRIES: "IN",
  };
  gateway = listenApp(testDeps(startMessaging(fake.url, logger), logger, { env }));
  keyed = listenApp(
    testDeps(startMessaging(fake.url, logger), logger, { env: { GATEWAY_API_KEYS: CALLER_KEY } }),
  );
});
afterAll(async () => {
  await gateway.stop();
  await keyed.stop();
  await fake.stop();
});

describe("a response validator built from the served document, in front of the gateway", () => {
  test("sees every kind of answer, 429s, replays and conflicts included: no violation", async () => {
    const doc = await (await fetch(`${gateway.base}/swagger/json`)).json();
    const proxy = validatingProxy(doc, gateway.base);
    const keyedProxy = validatingProxy(doc, keyed.base);
    const call = (
      base: string,
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${base}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, body: await res.text() }));
    const p = proxy.url;
    try {
      const sent = JSON.parse((await call(p, "POST", "/v1/otp/send", { phone: "+919876500001" })).body) as {
        verificationId: string;
      };
      const key = { "idempotency-key": crypto.randomUUID() };
      await call(p, "POST", "/v1/otp/send", { phone: "+919876500002" }, key);
      await call(p, "POST", "/v1/otp/send", { phone: "+919876500002" }, key); // replay
      await call(p, "POST", "/v1/otp/send", { phone: "+919876500003" }, key); // conflict
      await call(p, "POST", "/v1/otp/send", { phone: "+919876500001" }); // the phone's 1/1m: 429
      await call(p, "POST", "/v1/otp/send", { phone: "12" }); // 400
      await call(p, "POST", "/v1/otp/send", { phone: "+919876500004" }, { "idempotency-key": "has space" }); // 400
      await call(p, "POST", "/v1/otp/send", "phone=1", { "content-type": "text/plain" }); // 415
      await call(p, "POST", "/v1/otp/send", { phone: "+919876500005", pad: "x".repeat(20_000) }); // 413
      await call(p, "POST", "/v1/otp/send", { phone: "+14155552671" }); // 403 country
      await call(p, "POST", "/v1/otp/verify", {
        verificationId: sent.verificationId,
        code: fake.codeFor(sent.verificationId),
      });
      await call(p, "POST", "/v1/otp/verify", { verificationId: sent.verificationId, code: "000000" });
      await call(p, "POST", "/v1/otp/verify", { verificationId: "bad id", code: "1" }); // 400
      // A verification's status and cancel: verified (200, then 409), pending (200, 204), unknown (404), bad (400).
      await call(p, "GET", `/v1/otp/${sent.verificationId}`);
      await call(p, "DELETE", `/v1/otp/${sent.verificationId}`); // verified: 409
      const other = JSON.parse((await call(p, "POST", "/v1/otp/send", { phone: "+919876500006" })).body) as {
        verificationId: string;
      };
      await call(p, "GET", `/v1/otp/${other.verificationId}`);
      await call(p, "DELETE", `/v1/otp/${other.verificationId}`); // 204
      await call(p, "GET", "/v1/otp/3f9a1c0e5b7d2a46.otp_unknown"); // 404
      await call(p, "DELETE", "/v1/otp/3f9a1c0e5b7d2a46.otp_unknown"); // 404
      await call(p, "GET", "/v1/otp/bad%20id"); // 400
      await call(p, "DELETE", `/v1/otp/${other.verificationId}`, { pad: "x".repeat(20_000) }); // 413
      for (let i = 10; i < 18; i++) await call(p, "POST", "/v1/otp/send", { phone: `+9198765000${i}` }); // budget: 503
      fake.fail("/otp/send", { kind: "status", status: 500, body: "down" }, 3);
      await call(p, "POST", "/v1/otp/send", { phone: "+919876500099" }, { "x-request-id": "trace-1" }); // 502 or the budget
      await call(p, "GET", "/healthz");
      await call(p, "GET", "/readyz");
      await call(p, "GET", "/admin/guard", undefined, { authorization: `Bearer ${ADMIN}` });
      await call(p, "GET", "/admin/guard"); // 401
      await call(p, "DELETE", "/admin/blocks/+919876543", undefined, { authorization: `Bearer ${ADMIN}` });
      await call(p, "DELETE", "/admin/blocks/nope", undefined, { authorization: `Bearer ${ADMIN}` }); // 400
      await call(p, "PUT", "/admin/safe-list/numbers/+919876500001", undefined, {
        authorization: `Bearer ${ADMIN}`,
      });
      await call(p, "DELETE", "/admin/phones/+919876500001/windows", undefined, {
        authorization: `Bearer ${ADMIN}`,
      });
      await call(keyedProxy.url, "POST", "/v1/otp/send", { phone: "+919876500100" }); // 401
      await call(keyedProxy.url, "GET", "/v1/otp/3f9a1c0e5b7d2a46.otp_unknown"); // 401
      await call(keyedProxy.url, "DELETE", "/v1/otp/3f9a1c0e5b7d2a46.otp_unknown"); // 401
      await call(
        keyedProxy.url,
        "POST",
        "/v1/otp/send",
        { phone: "+919876500100" },
        { authorization: `Bearer ${CALLER_KEY}` },
      );
      // Per-IP: the verify limit (10/1m by default is relaxed in tests): many junk verifies do not 5xx.
      expect([...proxy.violations, ...keyedProxy.violations]).toEqual([]);
      const seen = [...proxy.seen, ...keyedProxy.seen];
      for (const expected of [
        "sendOtp 200",
        "sendOtp 400",
        "sendOtp 401",
        "sendOtp 403",
        "sendOtp 409",
        "sendOtp 413",
        "sendOtp 415",
        "sendOtp 429",
        "sendOtp 503",
        "verifyOtp 200",
        "verifyOtp 400",
        "getVerification 200",
        "getVerification 400",
        "getVerification 401",
        "getVerification 404",
        "cancelVerification 204",
        "cancelVerification 401",
        "cancelVerification 404",
        "cancelVerification 409",
        "cancelVerification 413",
        "checkLiveness 200",
        "checkReadiness 200",
        "getGuardState 200",
        "getGuardState 401",
        "liftBlock 200",
        "liftBlock 400",
        "addSafeNumber 200",
        "clearPhoneWindows 200",
      ])
        expect(seen, expected).toContain(expected);
    } finally {
      proxy.stop();
      keyedProxy.stop();
    }
  });

  test("is not blind: a document that disagrees with the gateway gets violations", async () => {
    // A gateway of its own: the first test used up the other's budget.
    const own = listenApp(testDeps(startMessaging(fake.url, logger), logger));
    const doc = await (await fetch(`${own.base}/swagger/json`)).json();
    doc.components.schemas.Problem.properties.status = { type: "string" };
    delete doc.paths["/v1/otp/send"].post.responses["200"].headers["Idempotent-Replayed"];
    delete doc.paths["/v1/otp/send"].post.responses["415"];
    const proxy = validatingProxy(doc, own.base);
    try {
      const key = { "content-type": "application/json", "idempotency-key": crypto.randomUUID() };
      for (let i = 0; i < 2; i++) {
        await fetch(`${proxy.url}/v1/otp/send`, {
          method: "POST",
          headers: key,
          body: '{"phone":"+919876500200"}',
        });
      }
      await fetch(`${proxy.url}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "x",
      });
      await fetch(`${proxy.url}/v1/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(proxy.violations.some((v) => v.includes("idempotent-replayed sent but not declared"))).toBe(
        true,
      );
      expect(proxy.violations.some((v) => v.includes("→ 415: status not declared"))).toBe(true);
      expect(proxy.violations.some((v) => v.includes("→ 400: body") && v.includes("status"))).toBe(true);
    } finally {
      proxy.stop();
      await own.stop();
    }
  });
});
