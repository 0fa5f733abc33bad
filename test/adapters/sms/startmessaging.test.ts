import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import zlib from "node:zlib";
import { FakeStartMessaging, type Shape } from "../../support/fake-startmessaging";
import { must } from "../../support/given";
import { captureLogger, startMessaging, testApp } from "../../support/harness";

const PHONE = "+919876543210";

async function problemOf(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as { code: string; status: number; requestId: string; detail: string };
}

for (const shape of ["tutorial", "reference"] as Shape[]) {
  describe(`against the ${shape} response shape`, () => {
    const fake = new FakeStartMessaging({ shape });
    const { logger } = captureLogger();
    let client: ReturnType<typeof testApp>;
    beforeAll(async () => {
      await fake.start();
      client = testApp(startMessaging(fake.url, logger), logger);
    });
    afterAll(() => fake.stop());

    test("sends, then verifies with the code the SMS carried", async () => {
      const sent = await client.post("/v1/otp/send", { phone: PHONE });
      expect(sent.status, await sent.clone().text()).toBe(200);
      const body = (await sent.json()) as { verificationId: string; expiresAt: string; attemptsLeft: number };
      expect(body.verificationId.length).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(body.expiresAt))).toBe(false);
      expect(body.attemptsLeft).toBe(3);

      const code = fake.sentCode(body.verificationId);
      const wrong = await client.post("/v1/otp/verify", {
        verificationId: body.verificationId,
        code: code === "000000" ? "111111" : "000000",
      });
      expect(await wrong.json()).toEqual({ verified: false });
      const right = await client.post("/v1/otp/verify", { verificationId: body.verificationId, code });
      expect(right.status).toBe(200);
      expect(await right.json()).toEqual({ verified: true });
      const again = await client.post("/v1/otp/verify", { verificationId: body.verificationId, code });
      expect(await again.json()).toEqual({ verified: false });
    });
  });
}

describe("the StartMessaging client", () => {
  const fake = new FakeStartMessaging();
  const capture = captureLogger();
  let client: ReturnType<typeof testApp>;
  beforeAll(async () => {
    await fake.start();
    client = testApp(startMessaging(fake.url, capture.logger), capture.logger);
  });
  beforeEach(() => {
    fake.reset();
    capture.lines.length = 0;
  });
  afterAll(() => fake.stop());

  const send = (headers: Record<string, string> = {}) =>
    client.post("/v1/otp/send", { phone: PHONE }, headers);

  test("sends phoneNumber, a fresh CSPRNG code in variables.otp, an idempotency key and the API key", async () => {
    await send();
    await send();
    const [a, b] = fake.calls("/otp/send");
    if (!a || !b) throw new Error("expected two calls to /otp/send");
    const first = a.body as { phoneNumber: string; variables: { otp: string }; idempotencyKey: string };
    const second = b.body as typeof first;
    expect(first.phoneNumber).toBe(PHONE);
    expect(first.variables.otp).toMatch(/^[0-9]{6}$/);
    expect(first.variables.otp).not.toBe(second.variables.otp);
    expect(first.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.idempotencyKey).not.toBe(second.idempotencyKey);
    expect(a.headers["x-api-key"]).toBe("sm_test_fake_key");
  });

  test("reuses one keep-alive connection for consecutive calls", async () => {
    const before = fake.connections;
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(200);
    expect(fake.connections - before).toBeLessThanOrEqual(1);
  });

  test("/readyz reports an unreachable upstream but stays ready", async () => {
    const dead = testApp(startMessaging("http://127.0.0.1:9", capture.logger), capture.logger);
    const res = await dead.get("/readyz");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: { upstream: { ok: boolean } } };
    expect(body.status).toBe("ready");
    expect(body.checks.upstream.ok).toBe(false);
    const live = (await (await client.get("/readyz")).json()) as typeof body;
    expect(live.checks.upstream.ok).toBe(true);
  });

  test("fills expiresAt and attemptsLeft from configuration when the upstream leaves them out", async () => {
    const sparse = await new FakeStartMessaging({ sparse: true }).start();
    try {
      const app = testApp(
        startMessaging(sparse.url, capture.logger, { ttlMs: 600_000, maxAttempts: 5 }),
        capture.logger,
        {
          env: { OTP_MAX_ATTEMPTS: "5" },
        },
      );
      const before = Date.now();
      const res = await app.post("/v1/otp/send", { phone: PHONE });
      const body = (await res.json()) as { expiresAt: string; attemptsLeft: number };
      expect(body.attemptsLeft).toBe(5);
      expect(Date.parse(body.expiresAt) - before).toBeGreaterThanOrEqual(599_000);
      expect(Date.parse(body.expiresAt) - before).toBeLessThanOrEqual(601_000);
    } finally {
      await sparse.stop();
    }
  });

  test("forwards the caller's Idempotency-Key; a repeat is answered by the gateway with no second call or SMS", async () => {
    const first = await (await send({ "idempotency-key": "order-42" })).json();
    const again = await send({ "idempotency-key": "order-42" });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(first);
    expect(fake.sms).toHaveLength(1);
    expect(fake.calls("/otp/send").map((c) => (c.body as { idempotencyKey: string }).idempotencyKey)).toEqual(
      ["order-42"],
    );
  });

  test("the upstream's own idempotency still holds when the gateway forgot the key", async () => {
    const first = await (await send({ "idempotency-key": "order-44" })).json();
    const amnesiac = testApp(startMessaging(fake.url, capture.logger), capture.logger); // a fresh store
    const again = await amnesiac.post("/v1/otp/send", { phone: PHONE }, { "idempotency-key": "order-44" });
    // The same upstream id, under the tag of the amnesiac gateway's own store.
    const upstreamId = (id: string) => id.slice(id.indexOf(".") + 1);
    expect(upstreamId(((await again.json()) as { verificationId: string }).verificationId)).toBe(
      upstreamId((first as { verificationId: string }).verificationId),
    );
    expect(fake.sms).toHaveLength(1);
  });

  test("the same Idempotency-Key with another phone is 409", async () => {
    await send({ "idempotency-key": "order-43" });
    const res = await client.post(
      "/v1/otp/send",
      { phone: "+919812345678" },
      { "idempotency-key": "order-43" },
    );
    expect(res.status, await res.clone().text()).toBe(409);
    expect((await problemOf(res)).code).toBe("IDEMPOTENCY_CONFLICT");
  });

  test("retries a 5xx with the same idempotency key and succeeds", async () => {
    fake.fail(
      "/otp/send",
      {
        kind: "status",
        status: 503,
        body: "<html><body>Service Unavailable</body></html>",
        headers: { "content-type": "text/html" },
      },
      2,
    );
    const res = await send();
    expect(res.status, await res.clone().text()).toBe(200);
    const keys = fake.calls("/otp/send").map((c) => (c.body as { idempotencyKey: string }).idempotencyKey);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(fake.sms).toHaveLength(1);
  });

  test("gives up after the configured retries with 502", async () => {
    fake.fail("/otp/send", { kind: "status", status: 500, body: "oops" }, 3);
    const res = await send();
    expect(res.status, await res.clone().text()).toBe(502);
    expect((await problemOf(res)).code).toBe("UPSTREAM_ERROR");
    expect(fake.calls("/otp/send")).toHaveLength(3);
  });

  test("a connection reset mid-body is retried with the same key, and no second SMS goes out", async () => {
    fake.fail("/otp/send", { kind: "reset" });
    const res = await send();
    expect(res.status, await res.clone().text()).toBe(200);
    expect(fake.calls("/otp/send")).toHaveLength(2);
  });

  test("a 2xx whose body is not the expected JSON is 502", async () => {
    for (const body of [
      "<html>ok</html>",
      '{"data":{}}',
      '{"data":{"requestId":"bad id with spaces"}}',
      "[]",
      "",
    ]) {
      fake.fail("/otp/send", { kind: "status", status: 200, body });
      const res = await send();
      expect(res.status, `body ${JSON.stringify(body)}: ${await res.clone().text()}`).toBe(502);
    }
    fake.fail("/otp/send", { kind: "truncate" });
    expect((await send()).status).toBe(502);
  });

  test("an endless body is cut at the 64 KiB cap: the rest is never fetched", async () => {
    fake.fail("/otp/send", { kind: "flood", bytes: 100_000_000 });
    const started = performance.now();
    const res = await send();
    expect(res.status).toBe(502);
    expect(performance.now() - started).toBeLessThan(3_000);
    await Bun.sleep(100); // the fake notices the hang-up
    // What sits in socket buffers is written, not the 100 MB (before the cap held, all of it was read).
    expect(fake.floodWritten).toBeLessThan(16 * 1024 * 1024);
  });

  test("asks for an uncompressed answer, and does not expand one it did not ask for", async () => {
    const answer = JSON.stringify({
      data: { requestId: crypto.randomUUID(), expiresAt: new Date(Date.now() + 60_000), attemptsLeft: 3 },
    });
    for (const [encoding, body] of [
      ["br", zlib.brotliCompressSync(answer)],
      ["gzip", zlib.gzipSync(answer)],
    ] as const) {
      fake.fail("/otp/send", {
        kind: "status",
        status: 200,
        body,
        headers: { "content-encoding": encoding },
      });
      const res = await send();
      // A valid answer inside: a client that decompressed would say 200 (and would expand a bomb too).
      expect(res.status, encoding).toBe(502);
    }
    expect(fake.calls("/otp/send").every((c) => c.headers["accept-encoding"] === "identity")).toBe(true);
    fake.fail("/otp/send", {
      kind: "status",
      status: 200,
      body: answer,
      headers: { "content-encoding": "identity" },
    });
    expect((await send()).status).toBe(200);
  });

  test("a slow upstream answers 504 after the timeout, without retrying", async () => {
    const slowClient = testApp(startMessaging(fake.url, capture.logger, { timeoutMs: 200 }), capture.logger);
    fake.fail("/otp/send", { kind: "delay", ms: 600 });
    const started = performance.now();
    // Another phone: the fake finishes this send later, and a send invalidates the phone's earlier codes.
    const res = await slowClient.post("/v1/otp/send", { phone: "+919812300001" });
    expect(res.status, await res.clone().text()).toBe(504);
    expect((await problemOf(res)).code).toBe("UPSTREAM_TIMEOUT");
    expect(performance.now() - started).toBeLessThan(550);
    expect(fake.calls("/otp/send")).toHaveLength(1);
  });

  test("a body that trickles in past the timeout is 504 too", async () => {
    const slowClient = testApp(startMessaging(fake.url, capture.logger, { timeoutMs: 200 }), capture.logger);
    fake.fail("/otp/send", { kind: "slow-body", ms: 600 });
    expect((await slowClient.post("/v1/otp/send", { phone: "+919812300002" })).status).toBe(504);
  });

  test("connection refused is retried, then 502", async () => {
    const dead = testApp(startMessaging("http://127.0.0.1:9", capture.logger), capture.logger);
    const res = await dead.post("/v1/otp/send", { phone: PHONE });
    expect(res.status, await res.clone().text()).toBe(502);
    expect(capture.lines.filter((l) => l.includes("retrying"))).toHaveLength(2);
  });

  test("401 is the gateway's fault: 500 GATEWAY_MISCONFIGURED, logged loudly, the key never shown", async () => {
    const badKey = testApp(
      startMessaging(fake.url, capture.logger, { apiKey: "sm_live_wrongwrongwrong" }),
      capture.logger,
    );
    const res = await badKey.post("/v1/otp/send", { phone: PHONE });
    const text = await res.clone().text();
    expect(res.status, text).toBe(500);
    expect((await problemOf(res)).code).toBe("GATEWAY_MISCONFIGURED");
    expect(text).not.toContain("sm_live_");
    const loud = capture.lines.map((l) => JSON.parse(l)).find((e) => e.level === "error" && e.status === 401);
    expect(loud?.msg).toContain("STARTMESSAGING_API_KEY");
    expect(capture.lines.join("\n")).not.toContain("sm_live_wrongwrongwrong");
  });

  test("402 (no balance) is 503 PROVIDER_UNAVAILABLE and logged as an error", async () => {
    fake.fail("/otp/send", {
      kind: "status",
      status: 402,
      body: JSON.stringify({ success: false, error: { code: "INSUFFICIENT_CREDITS", message: "Top up" } }),
    });
    const res = await send();
    expect(res.status).toBe(503);
    expect((await problemOf(res)).code).toBe("PROVIDER_UNAVAILABLE");
    expect(
      capture.lines.some((l) => l.includes('"level":"error"') && l.includes("INSUFFICIENT_CREDITS")),
    ).toBe(true);
  });

  test("upstream 400 is a 400 with a stable code, never a 5xx", async () => {
    fake.fail("/otp/send", {
      kind: "status",
      status: 400,
      body: JSON.stringify({ success: false, error: { code: "UNSUPPORTED_COUNTRY" } }),
    });
    let res = await send();
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("UNSUPPORTED_COUNTRY");
    fake.fail("/otp/send", { kind: "status", status: 400, body: "Bad Request" });
    res = await send();
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("INVALID_PHONE");
  });

  test("429 passes on Retry-After from the header, from error.retry_after, or a default", async () => {
    fake.fail("/otp/send", { kind: "status", status: 429, body: "{}", headers: { "retry-after": "17" } });
    let res = await send();
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("17");
    expect((await problemOf(res)).code).toBe("RATE_LIMITED");

    fake.fail("/otp/send", {
      kind: "status",
      status: 429,
      body: JSON.stringify({ success: false, error: { code: "RATE_LIMITED", retry_after: 42.5 } }),
    });
    res = await send();
    expect(res.headers.get("retry-after")).toBe("43");

    fake.fail("/otp/send", { kind: "status", status: 429, body: "slow down" });
    res = await send();
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(fake.calls("/otp/send")).toHaveLength(3);
  });

  test("an unexpected 3xx is not followed (it would carry the API key elsewhere)", async () => {
    fake.fail("/otp/send", {
      kind: "status",
      status: 302,
      headers: { location: "http://127.0.0.1:9/steal" },
    });
    const res = await send();
    expect(res.status).toBe(502);
    expect(fake.calls("/otp/send")).toHaveLength(1);
  });

  describe("verify", () => {
    /** Sends to get an id the gateway issued, then verifies it. */
    async function issued(app = client): Promise<string> {
      const res = await app.post("/v1/otp/send", { phone: PHONE });
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { verificationId: string }).verificationId;
    }
    const verify = (requestId: string, code = "123456", app = client) =>
      app.post("/v1/otp/verify", { verificationId: requestId, code });

    test("an id the gateway never issued is verified: false without asking the upstream", async () => {
      expect(await (await verify("req_unknown")).json()).toEqual({ verified: false });
      expect(fake.calls("/otp/verify")).toHaveLength(0);
    });

    test("404 and 410 from the upstream are verified: false", async () => {
      fake.fail("/otp/verify", {
        kind: "status",
        status: 404,
        body: JSON.stringify({ message: "not found" }),
      });
      expect(await (await verify(await issued())).json()).toEqual({ verified: false });
      fake.fail("/otp/verify", {
        kind: "status",
        status: 410,
        body: JSON.stringify({ message: "OTP expired" }),
      });
      const res = await verify(await issued());
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ verified: false });
      expect(fake.calls("/otp/verify")).toHaveLength(2);
    });

    test("with VERIFY_EXPOSE_REASON the answer says why", async () => {
      const open = testApp(startMessaging(fake.url, capture.logger), capture.logger, {
        exposeVerifyReason: true,
      });
      const id = await issued(open);
      expect(await (await verify(id, `1${fake.sentCode(id)}`, open)).json()).toEqual({
        verified: false,
        reason: "wrong_code",
      });
      expect(await (await verify("req_none", "123456", open)).json()).toEqual({
        verified: false,
        reason: "unknown",
      });
      fake.fail("/otp/verify", { kind: "status", status: 410 });
      expect(await (await verify(id, "123456", open)).json()).toEqual({ verified: false, reason: "expired" });
    });

    test("a 5xx is 502 and is not retried (a retry could spend an attempt twice)", async () => {
      const id = await issued();
      fake.fail("/otp/verify", { kind: "status", status: 500, body: "<html>" });
      const res = await verify(id);
      expect(res.status).toBe(502);
      expect(fake.calls("/otp/verify")).toHaveLength(1);
    });

    test("a 200 without a boolean verified is 502", async () => {
      const id = await issued();
      fake.fail("/otp/verify", {
        kind: "status",
        status: 200,
        body: JSON.stringify({ data: { verified: "yes" } }),
      });
      expect((await verify(id)).status).toBe(502);
    });

    test("429 and 401 map as for send", async () => {
      const id = await issued();
      fake.fail("/otp/verify", { kind: "status", status: 429, body: "{}", headers: { "retry-after": "5" } });
      const limited = await verify(id);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("5");
      fake.fail("/otp/verify", { kind: "status", status: 401, body: "{}" });
      expect((await verify(id)).status).toBe(500);
    });
  });

  test("no log line carries the API key, a code or a full phone number", async () => {
    const sent = (await (await send()).json()) as { verificationId: string };
    const code = fake.sentCode(sent.verificationId);
    await client.post("/v1/otp/verify", { verificationId: sent.verificationId, code });
    fake.fail("/otp/send", { kind: "status", status: 500 }, 3);
    await send();
    const log = capture.lines.join("\n");
    expect(capture.lines.length).toBeGreaterThan(3);
    expect(log).not.toContain("sm_test_fake_key");
    expect(log).not.toContain(PHONE);
    expect(log).not.toContain(`"${code}"`);
    const firstSend = must(fake.calls("/otp/send")[0], "a call to /otp/send");
    const sentOtp = (firstSend.body as { variables: { otp: string } }).variables.otp;
    expect(log).not.toContain(sentOtp);
  });
});
