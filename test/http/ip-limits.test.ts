import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { EnvSchema } from "../../src/config/schema";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, problem, startMessaging, TEST_PEER_HEADER, testApp } from "../support/harness";
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

describe("per-IP limits, before the body is read", () => {
  test("the third send from one address is refused, even with a broken body; another address is not", async () => {
    const client = app({ IP_SEND_LIMITS: "2/1m" });
    const from = (ip: string, body: unknown = { phone: PHONE }) =>
      client.post("/v1/otp/send", body, { [TEST_PEER_HEADER]: ip });
    expect((await from("203.0.113.7", { phone: "+919812345601" })).status).toBe(200);
    expect((await from("203.0.113.7", "{broken")).status).toBe(400);
    const third = await from("203.0.113.7", "{broken");
    await problem(third, 429, "RATE_LIMITED");
    expect(third.headers.get("ratelimit-policy")).toBe('"ip-1m";q=2;w=60');
    expect((await from("203.0.113.8", { phone: "+919812345602" })).status).toBe(200);
  });

  test("path variants meet the same guard: a trailing slash, an encoded letter or another case get no way past", async () => {
    const client = app({
      IP_SEND_LIMITS: "1/1m",
      IP_VERIFY_LIMITS: "1/1m",
      GATEWAY_API_KEYS: "right-key-0123456789",
    });
    const key = { authorization: "Bearer right-key-0123456789" };
    const variants = ["/v1/otp/send/", "/v1/otp/%73end", "/V1/OTP/SEND", "/v1/otp//send", "/v1/otp/verify/"];
    for (const [i, path] of variants.entries()) {
      await problem(
        await client.post(path, { phone: PHONE }, { [TEST_PEER_HEADER]: `192.0.2.${i + 1}` }),
        401,
        "UNAUTHORIZED",
      );
    }
    // With the key, the variants are not routes at all.
    const variant = await client.post(
      "/v1/otp/send/",
      { phone: PHONE },
      { ...key, [TEST_PEER_HEADER]: "192.0.2.200" },
    );
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
    const client = testApp(startMessaging(fake.url, capture.logger), capture.logger, {
      env: { IP_SEND_LIMITS: "1/1m" },
    });
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
    await problem(
      await client.post("/v1/otp/send", big, { [TEST_PEER_HEADER]: "192.0.2.150" }),
      429,
      "RATE_LIMITED",
    );
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
});

describe("per-IP limits over a real socket", () => {
  test("a request whose connection is reset before it is read gets no address: it does not share an 'unknown' budget", async () => {
    const { port, stop, lines } = gateway({ IP_SEND_LIMITS: EnvSchema.properties.IP_SEND_LIMITS.default });
    try {
      const send = (phone: string) => {
        const body = JSON.stringify({ phone });
        return `${postHead("/v1/otp/send", "otp", body)}\r\nConnection: close\r\n\r\n${body}`;
      };
      for (let i = 0; i < 5; i++) {
        const body = JSON.stringify({ phone: nextPhone() });
        expect((await rawRequest(port, postHead("/v1/otp/send", "otp", body), body)).status).toBe(200);
      }
      for (let i = 0; i < 8; i++) {
        const socket = net.connect({ port, host: "127.0.0.1" });
        socket.on("error", () => {});
        await new Promise((resolve) => socket.on("connect", resolve));
        socket.write(send(nextPhone()), () => socket.resetAndDestroy());
        await Bun.sleep(30);
      }
      await Bun.sleep(200);
      expect(fake.sms.length).toBeLessThanOrEqual(5);
      expect(lines().filter((l) => l.msg === "request" && l.ip === "unknown" && l.status === 200)).toEqual(
        [],
      );
    } finally {
      await stop();
    }
  });
});
