import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { LruIpLimiter } from "../../src/adapters/limits/ip-limiter";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import { addressBuckets } from "../../src/domain/address-buckets";
import { ratePolicy } from "../../src/domain/rate-policy";
import { parseLimits } from "../../src/domain/rate-window";
import { GatewayError } from "../../src/errors";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, TEST_PEER_HEADER, testApp } from "../support/harness";

const PHONE = "+919876543210";
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const app = (env: Record<string, string> = {}, options: { exposeVerifyReason?: boolean } = {}) =>
  testApp(startMessaging(fake.url, logger), logger, { env, ...options });

async function problem(res: Response, status: number, code: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(JSON.parse(text).code).toBe(code);
  return JSON.parse(text);
}

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
    const answers = await Promise.all(Array.from({ length: 50 }, () => client.post("/v1/otp/send", { phone: PHONE })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    expect(statuses.filter((s) => s === 429)).toHaveLength(43);
    expect(fake.calls("/otp/send")).toHaveLength(7);
  });
});

describe("per-IP limits, before the body is read", () => {
  test("the third send from one address is refused, even with a broken body; another address is not", async () => {
    const client = app({ IP_SEND_LIMITS: "2/1m" });
    const from = (ip: string, body: unknown = { phone: PHONE }) => client.post("/v1/otp/send", body, { [TEST_PEER_HEADER]: ip });
    expect((await from("203.0.113.7", { phone: "+919812345601" })).status).toBe(200);
    expect((await from("203.0.113.7", "{broken")).status).toBe(400);
    const third = await from("203.0.113.7", "{broken");
    await problem(third, 429, "RATE_LIMITED");
    expect(third.headers.get("ratelimit-policy")).toBe('"ip-1m";q=2;w=60');
    expect((await from("203.0.113.8", { phone: "+919812345602" })).status).toBe(200);
  });

  test("path variants meet the same guard: a trailing slash, an encoded letter or another case get no way past", async () => {
    const client = app({ IP_SEND_LIMITS: "1/1m", IP_VERIFY_LIMITS: "1/1m", GATEWAY_API_KEYS: "right-key-0123456789" });
    const key = { authorization: "Bearer right-key-0123456789" };
    const variants = ["/v1/otp/send/", "/v1/otp/%73end", "/V1/OTP/SEND", "/v1/otp//send", "/v1/otp/verify/"];
    for (const [i, path] of variants.entries()) {
      await problem(await client.post(path, { phone: PHONE }, { [TEST_PEER_HEADER]: `192.0.2.${i + 1}` }), 401, "UNAUTHORIZED");
    }
    // With the key, the variants are not routes at all.
    const variant = await client.post("/v1/otp/send/", { phone: PHONE }, { ...key, [TEST_PEER_HEADER]: "192.0.2.200" });
    await problem(variant, 404, "NOT_FOUND");
    // And they spend the address's budget like the real route.
    await problem(
      await client.post("/v1/otp/send", { phone: PHONE }, { ...key, [TEST_PEER_HEADER]: "192.0.2.200" }),
      429,
      "RATE_LIMITED",
    );
    expect(fake.calls("/otp/send")).toHaveLength(0);
  });

  test("a refused request still gets its request log line, with the address", async () => {
    const capture = captureLogger();
    const client = testApp(startMessaging(fake.url, capture.logger), capture.logger, { env: { IP_SEND_LIMITS: "1/1m" } });
    await client.post("/v1/otp/send", "{}", { [TEST_PEER_HEADER]: "192.0.2.170" });
    const refused = await client.post("/v1/otp/send", "{}", { [TEST_PEER_HEADER]: "192.0.2.170" });
    await Bun.sleep(10); // the log line is written after the response
    const line = capture.lines.map((l) => JSON.parse(l)).find((e) => e.msg === "request" && e.status === 429);
    expect(line).toMatchObject({ ip: "192.0.2.170", requestId: refused.headers.get("x-request-id") });
  });

  test("an oversize body counts against the address too", async () => {
    const client = app({ IP_SEND_LIMITS: "1/1m" });
    const big = { phone: PHONE, pad: "x".repeat(20_000) };
    expect((await client.post("/v1/otp/send", big, { [TEST_PEER_HEADER]: "192.0.2.150" })).status).toBe(413);
    await problem(await client.post("/v1/otp/send", big, { [TEST_PEER_HEADER]: "192.0.2.150" }), 429, "RATE_LIMITED");
  });

  test("without TRUST_PROXY, X-Forwarded-For is ignored and cannot open new buckets", async () => {
    const client = app({ IP_SEND_LIMITS: "2/1m" });
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const res = await client.post("/v1/otp/send", "{}", {
        [TEST_PEER_HEADER]: "198.51.100.1",
        "x-forwarded-for": `10.0.0.${i}`,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 429, 429, 429]);
  });

  test("with TRUST_PROXY=1 the address the proxy appended counts, not what the client wrote before it", async () => {
    const client = app({ IP_SEND_LIMITS: "1/1m", TRUST_PROXY: "1" });
    const via = (chain: string) =>
      client.post("/v1/otp/send", "{}", { [TEST_PEER_HEADER]: "127.0.0.1", "x-forwarded-for": chain });
    expect((await via("6.6.6.6, 192.0.2.10")).status).toBe(400);
    expect((await via("7.7.7.7, 192.0.2.10")).status).toBe(429); // spoofed left part changed, real client the same
    expect((await via("192.0.2.11")).status).toBe(400);
  });

  test("with TRUST_PROXY as CIDRs, only a trusted peer may speak for the client", async () => {
    const client = app({ IP_SEND_LIMITS: "1/1m", TRUST_PROXY: "10.0.0.0/8" });
    const send = (peer: string, xff: string) =>
      client.post("/v1/otp/send", "{}", { [TEST_PEER_HEADER]: peer, "x-forwarded-for": xff });
    expect((await send("10.1.2.3", "192.0.2.20")).status).toBe(400);
    expect((await send("10.9.9.9", "192.0.2.20")).status).toBe(429); // same client through another proxy
    expect((await send("203.0.113.50", "192.0.2.30")).status).toBe(400); // untrusted peer: the peer is the client
    expect((await send("203.0.113.50", "192.0.2.31")).status).toBe(429);
  });

  test("IPv6 addresses of one /64 share a bucket; IPv4-mapped IPv6 is the IPv4 address", async () => {
    const client = app({ IP_SEND_LIMITS: "1/1m" });
    const from = (ip: string) => client.post("/v1/otp/send", "{}", { [TEST_PEER_HEADER]: ip });
    expect((await from("2001:db8:1:2::1")).status).toBe(400);
    expect((await from("2001:db8:1:2:ffff:ffff:ffff:fffe")).status).toBe(429);
    expect((await from("2001:db8:1:3::1")).status).toBe(400);
    expect((await from("192.0.2.99")).status).toBe(400);
    expect((await from("::ffff:192.0.2.99")).status).toBe(429);
  });

  test("200000 distinct addresses keep the LRU at its cap", () => {
    const limiter = new LruIpLimiter({
      send: { host: ratePolicy("ip", parseLimits("5/1m,20/10m,50/1h")!) },
      verify: { host: ratePolicy("ip", parseLimits("10/1m")!) },
      maxEntries: 100_000,
    });
    for (let i = 0; i < 200_000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      expect(limiter.hit("send", addressBuckets(address))?.decision.allowed).toBe(true);
    }
    expect(limiter.size).toBe(100_000);
  });
});

describe("verify protection", () => {
  async function issue(client: ReturnType<typeof app>, phone = PHONE): Promise<string> {
    const res = await client.post("/v1/otp/send", { phone });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { requestId: string }).requestId;
  }

  test("after OTP_MAX_ATTEMPTS tries the id is dead, whatever the upstream would say", async () => {
    const reusable = await new FakeStartMessaging({ reusableCodes: true }).start();
    try {
      const client = testApp(startMessaging(reusable.url, logger), logger, {
        env: { OTP_MAX_ATTEMPTS: "3" },
        exposeVerifyReason: true,
      });
      const id = await issue(client);
      const code = reusable.codeFor(id)!;
      const wrong = code === "000000" ? "111111" : "000000";
      for (let i = 0; i < 3; i++)
        expect(await (await client.post("/v1/otp/verify", { requestId: id, code: wrong })).json()).toEqual({
          verified: false,
          reason: "wrong_code",
        });
      expect(await (await client.post("/v1/otp/verify", { requestId: id, code })).json()).toEqual({
        verified: false,
        reason: "exhausted",
      });
      expect(reusable.calls("/otp/verify")).toHaveLength(3);
    } finally {
      await reusable.stop();
    }
  });

  test("two concurrent verifies of one right code: exactly one true, even if the upstream says yes twice", async () => {
    const reusable = await new FakeStartMessaging({ reusableCodes: true }).start();
    try {
      const client = testApp(startMessaging(reusable.url, logger), logger);
      const id = await issue(client);
      const code = reusable.codeFor(id)!;
      let release!: () => void;
      const barrier = new Promise<void>((r) => (release = r));
      const racers = [0, 1].map(() => barrier.then(() => client.post("/v1/otp/verify", { requestId: id, code })));
      release();
      const answers = await Promise.all(racers.map(async (r) => ((await (await r).json()) as { verified: boolean }).verified));
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect(await (await client.post("/v1/otp/verify", { requestId: id, code })).json()).toEqual({ verified: false });
    } finally {
      await reusable.stop();
    }
  });

  test("per-phone verify windows answer 429 across request ids", async () => {
    const client = app({ PHONE_VERIFY_LIMITS: "2/10m" });
    const ids = [await issue(client, "+919812345611"), await issue(client, "+919812345611")];
    expect((await client.post("/v1/otp/verify", { requestId: ids[0], code: "123456" })).status).toBe(200);
    expect((await client.post("/v1/otp/verify", { requestId: ids[1], code: "123456" })).status).toBe(200);
    const third = await client.post("/v1/otp/verify", { requestId: ids[1], code: "123456" });
    await problem(third, 429, "RATE_LIMITED");
    expect(third.headers.get("ratelimit-policy")).toBe('"verify-10m";q=2;w=600');
  });

  test("per-IP verify windows are separate from send windows", async () => {
    const client = app({ IP_VERIFY_LIMITS: "2/1m", IP_SEND_LIMITS: "100/1m" });
    const verify = () =>
      client.post("/v1/otp/verify", { requestId: "otp_x", code: "123456" }, { [TEST_PEER_HEADER]: "192.0.2.77" });
    expect((await verify()).status).toBe(200);
    expect((await verify()).status).toBe(200);
    await problem(await verify(), 429, "RATE_LIMITED");
    expect((await client.post("/v1/otp/send", { phone: "+919812345612" }, { [TEST_PEER_HEADER]: "192.0.2.77" })).status).toBe(
      200,
    );
  });
});

describe("idempotency keys", () => {
  test("same key and phone: the same answer, one upstream call; another phone: 409", async () => {
    const client = app();
    const key = { "idempotency-key": crypto.randomUUID() };
    const first = await client.post("/v1/otp/send", { phone: PHONE }, key);
    const again = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(await again.json()).toEqual(await first.json());
    expect(fake.calls("/otp/send")).toHaveLength(1);
    await problem(await client.post("/v1/otp/send", { phone: "+919812345678" }, key), 409, "IDEMPOTENCY_CONFLICT");
  });

  test("two concurrent sends with one key make one upstream call", async () => {
    const client = app();
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "delay", ms: 150 });
    const [a, b] = await Promise.all([
      client.post("/v1/otp/send", { phone: PHONE }, key),
      client.post("/v1/otp/send", { phone: PHONE }, key),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect((await loser.json()).code).toBe("IDEMPOTENCY_IN_PROGRESS");
    expect(fake.calls("/otp/send")).toHaveLength(1);
  });

  test("concurrent sends with one key: one SMS, and the phone's window still counts it", async () => {
    const client = testApp(startMessaging(fake.url, logger), logger, { env: { PHONE_SEND_LIMITS: "1/1m" } });
    const key = { "idempotency-key": crypto.randomUUID() };
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.post("/v1/otp/send", { phone: PHONE }, key)));
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);
    expect(fake.sms).toHaveLength(1);
    // The requests that found the key in flight took nothing of the owner's away: a new key is refused.
    await problem(
      await client.post("/v1/otp/send", { phone: PHONE }, { "idempotency-key": crypto.randomUUID() }),
      429,
      "RATE_LIMITED",
    );
    await problem(await client.post("/v1/otp/send", { phone: PHONE }), 429, "RATE_LIMITED");
  });

  test("a failed send frees the key for a retry", async () => {
    const client = app();
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "status", status: 500 }, 3);
    expect((await client.post("/v1/otp/send", { phone: PHONE }, key)).status).toBe(502);
    expect((await client.post("/v1/otp/send", { phone: PHONE }, key)).status).toBe(200);
  });
});

describe("sends that fail half-way", () => {
  test("a retry with the same key after a timeout is not refused by the phone limit and sends no second SMS", async () => {
    const client = testApp(startMessaging(fake.url, logger, { timeoutMs: 150 }), logger, { env: { PHONE_SEND_LIMITS: "1/1m" } });
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "delay", ms: 300 });
    await problem(await client.post("/v1/otp/send", { phone: PHONE }, key), 504, "UPSTREAM_TIMEOUT");
    await Bun.sleep(200); // the slow upstream finishes and sends its SMS
    const retry = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect(((await retry.json()) as { requestId: string }).requestId).toEndWith(`.${fake.sms[0]!.requestId}`);
    expect(fake.sms).toHaveLength(1);
    // A new send for the phone is still refused: the one SMS was counted once.
    await problem(await client.post("/v1/otp/send", { phone: PHONE }), 429, "RATE_LIMITED");
  });

  test("that retry uses no budget of its own: the timed-out attempt holds the one SMS's share", async () => {
    const client = testApp(startMessaging(fake.url, logger, { timeoutMs: 150 }), logger, { env: { SEND_BUDGETS: "*=1/1h" } });
    const key = { "idempotency-key": crypto.randomUUID() };
    fake.fail("/otp/send", { kind: "delay", ms: 300 });
    await problem(await client.post("/v1/otp/send", { phone: PHONE }, key), 504, "UPSTREAM_TIMEOUT");
    await Bun.sleep(200);
    const retry = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect(fake.sms).toHaveLength(1);
    // The budget of 1 was spent once, by the one SMS: the next number is refused.
    await problem(await client.post("/v1/otp/send", { phone: "+919812345678" }), 503, "SEND_BUDGET_EXHAUSTED");
  });

  test("an upstream replay of a used id after the gateway forgot the key cannot verify twice", async () => {
    const reusable = await new FakeStartMessaging({ reusableCodes: true }).start();
    try {
      const client = testApp(startMessaging(reusable.url, logger), logger, {
        env: { IDEMPOTENCY_TTL: "200ms", PHONE_SEND_LIMITS: "10000/200ms" },
      });
      const key = { "idempotency-key": crypto.randomUUID() };
      const { requestId } = (await (await client.post("/v1/otp/send", { phone: PHONE }, key)).json()) as { requestId: string };
      const code = reusable.codeFor(requestId)!;
      expect(await (await client.post("/v1/otp/verify", { requestId, code })).json()).toEqual({ verified: true });
      await Bun.sleep(250);
      const replay = (await (await client.post("/v1/otp/send", { phone: PHONE }, key)).json()) as { requestId: string };
      expect(replay.requestId).toBe(requestId);
      expect(await (await client.post("/v1/otp/verify", { requestId, code })).json()).toEqual({ verified: false });
    } finally {
      await reusable.stop();
    }
  });

  test("a key whose answer was stored but whose record was not: the retry records it, one SMS, and the code verifies", async () => {
    const store = new MemoryStore();
    const record = store.record.bind(store);
    let failures = 2; // both writes of the first request (the write and its one retry)
    // The record step fails half-way: the key's answer is stored, the id's record is not.
    store.record = async (ticket, sent) => {
      if (failures-- <= 0) return record(ticket, sent);
      await record(ticket, { ...sent, id: { tag: "0000000000000000", inner: "lost" } });
      throw new GatewayError("STORE_UNAVAILABLE");
    };
    const client = testApp(startMessaging(fake.url, logger), logger, { store });
    const key = { "idempotency-key": crypto.randomUUID() };
    await problem(await client.post("/v1/otp/send", { phone: PHONE }, key), 503, "STORE_UNAVAILABLE");
    const retry = await client.post("/v1/otp/send", { phone: PHONE }, key);
    expect(retry.status, await retry.clone().text()).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBeNull(); // sent again, not replayed unrecorded
    const { requestId } = (await retry.json()) as { requestId: string };
    expect(fake.sms).toHaveLength(1); // the upstream deduplicated the second call
    const verified = await client.post("/v1/otp/verify", { requestId, code: fake.codeFor(requestId)! });
    expect(await verified.json()).toEqual({ verified: true });
  });

  test("when the code went out but cannot be recorded, the answer says so instead of 'nothing was sent'", async () => {
    const store = new MemoryStore();
    store.record = async () => {
      throw new GatewayError("STORE_UNAVAILABLE");
    };
    const client = testApp(startMessaging(fake.url, logger), logger, { store });
    const res = await client.post("/v1/otp/send", { phone: PHONE });
    const body = await problem(res, 503, "STORE_UNAVAILABLE");
    expect(body.detail).toContain("may have been sent");
    expect(fake.sms).toHaveLength(1);
  });
});

describe("who may call, and where to", () => {
  test("ALLOWED_COUNTRIES refuses other countries with 403 before the upstream is called; IN is the default", async () => {
    const defaults = app({ ALLOWED_COUNTRIES: "IN" });
    await problem(await defaults.post("/v1/otp/send", { phone: "+14155552671" }), 403, "COUNTRY_NOT_ALLOWED");
    expect(fake.calls("/otp/send")).toHaveLength(0);
    expect((await defaults.post("/v1/otp/send", { phone: PHONE })).status).toBe(200);
    const us = app({ ALLOWED_COUNTRIES: "US,GB" });
    expect((await us.post("/v1/otp/send", { phone: "+14155552671" })).status).toBe(200);
  });

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
      await client.post("/v1/otp/verify", { requestId: "otp_x", code: "1234" }, { authorization: "Basic a2V5" }),
      401,
      "UNAUTHORIZED",
    );
    expect((await client.post("/v1/otp/send", { phone: PHONE }, { authorization: "Bearer key-two-0123456789" })).status).toBe(
      200,
    );
    expect((await client.get("/healthz")).status).toBe(200);
    expect((await client.get("/swagger/json")).status).toBe(200);
    expect(fake.calls("/otp/send")).toHaveLength(1);
  });

  test("with caller keys, one caller's Idempotency-Key neither replays nor blocks another's", async () => {
    const client = app({ GATEWAY_API_KEYS: "caller-a-0123456789,caller-b-0123456789" });
    const a = { authorization: "Bearer caller-a-0123456789", "idempotency-key": "order-1" };
    const b = { authorization: "Bearer caller-b-0123456789", "idempotency-key": "order-1" };
    const first = (await (await client.post("/v1/otp/send", { phone: PHONE }, a)).json()) as { requestId: string };
    const other = await client.post("/v1/otp/send", { phone: "+919812345679" }, b);
    expect(other.status, await other.clone().text()).toBe(200);
    const sameAsA = (await (await client.post("/v1/otp/send", { phone: PHONE }, b)).json()) as { requestId?: string };
    expect(sameAsA.requestId).toBeDefined();
    expect(sameAsA.requestId).not.toBe(first.requestId);
  });

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
