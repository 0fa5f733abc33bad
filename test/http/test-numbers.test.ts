import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { buildServices } from "../../src/composition-root";
import { ConfigError, loadConfig } from "../../src/config/index";
import { createLogger } from "../../src/observability/logger";
import { PromMetrics } from "../../src/observability/metrics";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp, testDeps } from "../support/harness";
import { listenApp } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const REVIEWER = "+919999999999";
const FICTIONAL = "+15555550100"; // not a real mobile: a test number need not be one
const EXPIRED = "+919999999998";
const TEST_PHONES = `${REVIEWER}:123456,${FICTIONAL}:4321,${EXPIRED}:111111:2020-01-31`;
const ADMIN_TOKEN = "admin-token-0123456789";

function gateway(env: Record<string, string> = {}) {
  const capture = captureLogger();
  const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
  const client = testApp(startMessaging(fake.url, capture.logger), capture.logger, {
    metrics,
    // Strict limits: a test number must get past all of them.
    env: {
      TEST_PHONES,
      PHONE_SEND_LIMITS: "1/1m",
      PHONE_VERIFY_LIMITS: "4/1m",
      SEND_BUDGETS: "*=1/1h",
      ...env,
    },
  });
  const send = async (phone: string, headers: Record<string, string> = {}) => {
    const res = await client.post("/v1/otp/send", { phone }, headers);
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  const verify = async (requestId: unknown, code: string) =>
    (await (await client.post("/v1/otp/verify", { verificationId: requestId, code })).json()) as {
      verified: boolean;
    };
  return { client, send, verify, capture, metrics };
}

describe("test numbers (TEST_PHONES)", () => {
  test("never reach the upstream, use no budget or send window, and verify only with their code, once", async () => {
    const { client, send, verify, capture, metrics } = gateway();
    const ids: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const sent = await send(REVIEWER);
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body.resendAfter).toBe(0);
      ids.push(sent.body.verificationId);
    }
    expect((await send(FICTIONAL)).status).toBe(200);
    expect(fake.requests).toHaveLength(0);
    expect(await verify(ids[0], "654321")).toEqual({ verified: false });
    expect(await verify(ids[0], "123456")).toEqual({ verified: true });
    expect(await verify(ids[0], "123456")).toEqual({ verified: false }); // once
    // The attempt cap still applies (3): after three wrong codes the right one no longer works.
    for (let i = 0; i < 3; i++) expect(await verify(ids[1], "000000")).toEqual({ verified: false });
    expect(await verify(ids[1], "123456")).toEqual({ verified: false });
    // The four wrong codes filled the phone's verify window (4/1m; the right one was taken back):
    // a fresh id's right code is refused now too, unchecked, like any number's.
    const limited = await client.post("/v1/otp/verify", { verificationId: ids[2], code: "123456" });
    expect(limited.status).toBe(429);
    expect(fake.requests).toHaveLength(0);
    // The budget (1/1h) is still whole for a real number.
    expect((await send("+919876543210")).status).toBe(200);
    expect((await send("+919876543211")).status).toBe(503);
    const page = (await metrics.render()).body;
    expect(page).toContain('otp_gateway_sends_total{outcome="test_number"} 6');
    expect(page).toContain('otp_gateway_verifies_total{outcome="test_verified"} 1');
    expect(page).toContain('otp_gateway_verifies_total{outcome="test_not_verified"}');
    // Request ids are random (hex and digits): a fixed code may turn up in one by chance, so they are left out.
    const withoutIds = (line: string) =>
      JSON.stringify({
        ...(JSON.parse(line) as Record<string, unknown>),
        requestId: undefined,
        verificationId: undefined,
      });
    for (const line of capture.lines.map(withoutIds)) {
      for (const code of ["123456", "4321"]) expect(line).not.toContain(code);
    }
  });

  test("an expired entry is an ordinary number again; a replayed Idempotency-Key replays a test send", async () => {
    const { send } = gateway({ SEND_BUDGETS: "*=100/1h" });
    expect((await send(EXPIRED)).status).toBe(200);
    expect(fake.sms.map((m) => m.phone)).toEqual([EXPIRED]);
    const key = { "idempotency-key": crypto.randomUUID() };
    const first = await send(REVIEWER, key);
    const again = await send(REVIEWER, key);
    expect(again.body.verificationId).toBe(first.body.verificationId);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  test("allowed in production; a warn line at start says how many, never the codes", () => {
    const lines: string[] = [];
    const config = loadConfig({ NODE_ENV: "production", STARTMESSAGING_API_KEY: "sm_live_x", TEST_PHONES });
    buildServices(config, createLogger({ level: "info", write: (line) => lines.push(line) }));
    const warn = lines.map((l) => JSON.parse(l)).find((l) => String(l.msg).startsWith("test phone numbers"));
    expect(warn).toMatchObject({ level: "warn", count: 2, expired: 1 });
    for (const line of lines) expect(line).not.toContain("123456");
    try {
      loadConfig({ TEST_PHONES: `${REVIEWER}:123456,+91:999999` });
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain("TEST_PHONES");
      expect((err as ConfigError).message).not.toContain("123456");
    }
  });
});

describe("test numbers over a real socket", () => {
  const { logger } = captureLogger();
  const started: { stop: () => Promise<unknown> }[] = [];
  afterAll(async () => {
    for (const server of started) await server.stop();
  });
  function serve(env: Record<string, string>) {
    const server = listenApp(
      testDeps(startMessaging(fake.url, logger), logger, { env: { TEST_PHONES, ...env } }),
    );
    started.push(server);
    const admin = (method: string, path: string) =>
      fetch(`${server.base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    return { post, admin, send: (phone: string) => post("/v1/otp/send", { phone }) };
  }

  test("a locked-out test number that is no mobile is unlocked by the admin route, as written", async () => {
    const { post, send, admin } = serve({ PHONE_VERIFY_LIMITS: "3/1h", ADMIN_TOKEN });
    const sent = await send(FICTIONAL);
    for (const code of ["1000", "1001", "1002"]) {
      await post("/v1/otp/verify", { verificationId: sent.body.verificationId, code });
    }
    const fresh = await send(FICTIONAL);
    expect(
      (await post("/v1/otp/verify", { verificationId: fresh.body.verificationId, code: "4321" })).status,
    ).toBe(429);
    const cleared = await admin("DELETE", `/admin/phones/${FICTIONAL}/windows`);
    expect(cleared.status, await cleared.clone().text()).toBe(200);
    expect(await cleared.json()).toEqual({ done: true });
    expect(await post("/v1/otp/verify", { verificationId: fresh.body.verificationId, code: "4321" })).toEqual(
      {
        status: 200,
        body: { verified: true },
      },
    );
    // Encoded as a browser or a client library writes the path, too; an expired entry is still a test number here.
    expect((await admin("DELETE", `/admin/phones/${encodeURIComponent(FICTIONAL)}/windows`)).status).toBe(
      200,
    );
    expect((await admin("DELETE", `/admin/phones/${EXPIRED}/windows`)).status).toBe(200);
    // Any other number must still be a mobile.
    const landline = await admin("DELETE", "/admin/phones/+15555550199/windows");
    expect(landline.status).toBe(400);
    expect(((await landline.json()) as { code: string }).code).toBe("INVALID_PHONE");
  });

  test("a fixed code cannot be guessed by asking for new ids: wrong codes fill the phone's verify window", async () => {
    const { post, send } = serve({ PHONE_VERIFY_LIMITS: "3/1h" });
    const checked: string[] = [];
    let refused = 0;
    // 10 free ids, 3 guesses each: without the window that is 30 of the 10 000 4-digit codes.
    for (let round = 0; round < 10; round++) {
      const sent = await send(FICTIONAL);
      expect(sent.status).toBe(200);
      for (let guess = 0; guess < 3; guess++) {
        const code = String(1000 + round * 3 + guess);
        const answer = await post("/v1/otp/verify", { verificationId: sent.body.verificationId, code });
        if (answer.status === 429) refused++;
        else checked.push(code);
      }
    }
    expect(checked).toHaveLength(3);
    expect(refused).toBe(27);
    // The right code now is refused too, without being checked.
    const last = await send(FICTIONAL);
    expect(
      (await post("/v1/otp/verify", { verificationId: last.body.verificationId, code: "4321" })).status,
    ).toBe(429);
    expect(fake.requests).toHaveLength(0);
  });

  test("right codes are not charged: a reviewer or CI can sign in more often than the window allows", async () => {
    const { post, send } = serve({ PHONE_VERIFY_LIMITS: "3/1h" });
    for (let i = 0; i < 6; i++) {
      const sent = await send(REVIEWER);
      expect(
        await post("/v1/otp/verify", { verificationId: sent.body.verificationId, code: "123456" }),
      ).toEqual({
        status: 200,
        body: { verified: true },
      });
    }
  });

  test("a test number is found however it is spelled, listed or sent: no SMS to its other spelling", async () => {
    const { send } = serve({ TEST_PHONES: `${REVIEWER}:123456,+9109999999998:222222` });
    for (const phone of ["+9109999999999", REVIEWER, "+919999999998", "+9109999999998"]) {
      const sent = await send(phone);
      expect(sent.status, phone).toBe(200);
      expect(String(sent.body.verificationId), phone).toContain("._test_");
    }
    expect(fake.requests).toHaveLength(0);
    expect(() => loadConfig({ TEST_PHONES: `${REVIEWER}:123456,+9109999999999:654321` })).toThrow(
      "listed twice",
    );
  });
});
