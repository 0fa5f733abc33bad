import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { EnvSchema } from "../../src/config/schema";
import { socketPeer } from "../../src/http/guard";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testDeps } from "../support/harness";
import { portOf } from "../support/socket";

/** The shipped defaults of the address tiers, as the schema declares them. */
const DEFAULTS = {
  IP_SEND_LIMITS: EnvSchema.properties.IP_SEND_LIMITS.default,
  IPV4_SUBNET_SEND_LIMITS: EnvSchema.properties.IPV4_SUBNET_SEND_LIMITS.default,
  IPV6_SUBNET_SEND_LIMITS: EnvSchema.properties.IPV6_SUBNET_SEND_LIMITS.default,
};

describe("address tiers over a real socket (TRUST_PROXY=1)", () => {
  const fake = new FakeStartMessaging();
  const { logger } = captureLogger();
  let server: ReturnType<ReturnType<typeof createApp>["listen"]>;
  let base = "";
  beforeAll(async () => {
    await fake.start();
    const deps = testDeps(startMessaging(fake.url, logger), logger, {
      env: { ...DEFAULTS, TRUST_PROXY: "1", ALLOWED_COUNTRIES: "IN", PHONE_SEND_LIMITS: "1/1m" },
    });
    server = createApp({ ...deps, http: { ...deps.http, peerAddress: socketPeer } }).listen({
      port: 0,
      hostname: "127.0.0.1",
    });
    base = `http://127.0.0.1:${portOf(server)}`;
  });
  afterAll(async () => {
    await server.stop(true);
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  let phones = 0;
  const nextPhone = () => `+9198${String(10_000_000 + phones++).padStart(8, "0")}`;
  const send = (forwardedFor: string) =>
    fetch(`${base}/v1/otp/send`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
      body: JSON.stringify({ phone: nextPhone() }),
    });

  test("240 sends from 40 /64s of one /48 to fresh numbers: the /48 tier stops the drain", async () => {
    const answers = await Promise.all(
      Array.from({ length: 240 }, (_, i) => send(`2001:db8:77:${(i % 40).toString(16)}::${(i % 7) + 1}`)),
    );
    const ok = answers.filter((r) => r.status === 200).length;
    const refused = answers.filter((r) => r.status === 429);
    expect(ok).toBe(30); // IPV6_SUBNET_SEND_LIMITS: 30/1m
    expect(fake.sms).toHaveLength(30);
    expect(new Set(refused.map((r) => r.headers.get("ratelimit-policy")))).toContain(
      '"subnet-1m";q=30;w=60, "subnet-1h";q=300;w=3600',
    );
    expect(ok + refused.length).toBe(240);
  });

  test("one IPv4 behind 6to4 cannot open 65 536 buckets; NAT64 clients are not all one", async () => {
    const six2four = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(`2002:c633:6401:${i.toString(16)}::1`)),
    );
    expect(six2four.filter((r) => r.status === 200)).toHaveLength(5); // 198.51.100.1's own 5/1m
    const nat64 = await Promise.all(
      Array.from({ length: 10 }, (_, i) => send(`64:ff9b::c633:64${(16 + i).toString(16)}`)),
    );
    expect(nat64.filter((r) => r.status === 200)).toHaveLength(10); // ten IPv4 clients, one send each
  });

  test("a proxy writing ip:port does not put everyone behind it in one bucket", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send(`203.0.113.${i + 1}:4${i}001`)),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    const again = await Promise.all(Array.from({ length: 6 }, () => send("203.0.113.1:55555")));
    expect(again.filter((r) => r.status === 200)).toHaveLength(4); // 5/1m for 203.0.113.1, whatever the port
  });

  test("IPv4 /24: past its limit, fresh addresses of that /24 are refused; another /24 is not", async () => {
    // 60/1m per /24 by default; each address stays under its own 5/1m.
    const answers = [];
    for (let i = 0; i < 70; i++) answers.push(await send(`198.18.7.${i + 1}`));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(60);
    expect(answers.at(-1)?.headers.get("ratelimit-policy")).toContain('"subnet-1m";q=60;w=60');
    expect((await send("198.18.8.1")).status).toBe(200);
  });
});

describe("the per-IP LRU cannot be churned to reset a client's send limits (real socket, TRUST_PROXY=1)", () => {
  const fake = new FakeStartMessaging();
  const { logger } = captureLogger();
  let server: ReturnType<ReturnType<typeof createApp>["listen"]>;
  let base = "";
  // The smallest LRU the schema allows: 1 000 buckets; each scope keeps its own.
  const LRU = 1_000;
  beforeAll(async () => {
    await fake.start();
    const env = {
      TRUST_PROXY: "1",
      ALLOWED_COUNTRIES: "IN",
      IP_SEND_LIMITS: "3/1m",
      IPV4_SUBNET_SEND_LIMITS: "5/1m",
      IPV6_SUBNET_SEND_LIMITS: "5/1m",
      IP_LRU_MAX: String(LRU),
    };
    const deps = testDeps(startMessaging(fake.url, logger), logger, { env });
    server = createApp({ ...deps, http: { ...deps.http, peerAddress: socketPeer } }).listen({
      port: 0,
      hostname: "127.0.0.1",
    });
    base = `http://127.0.0.1:${portOf(server)}`;
  });
  afterAll(async () => {
    await server.stop(true);
    await fake.stop();
  });

  let phones = 0;
  const nextPhone = () => `+9197${String(10_000_000 + phones++).padStart(8, "0")}`;
  const post = (path: string, forwardedFor: string, body?: string) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
      body: body ?? JSON.stringify({ phone: nextPhone() }),
    });
  const statuses = async (answers: Promise<Response>[]) => (await Promise.all(answers)).map((r) => r.status);

  /** `count` requests, 50 at a time, each from the address `from(i)`. */
  async function flood(count: number, request: (i: number) => Promise<Response>): Promise<number[]> {
    const seen: number[] = [];
    for (let i = 0; i < count; i += 50) {
      seen.push(
        ...(await statuses(Array.from({ length: Math.min(50, count - i) }, (_, j) => request(i + j)))),
      );
    }
    return seen;
  }

  for (const [family, client, verifier] of [
    ["IPv6", "2001:db8:cc:1::1", (i: number) => `2001:db8:cd:${i.toString(16)}::1`],
    ["IPv4", "198.51.100.7", (i: number) => `10.7.${i >> 8}.${i & 255}`],
  ] as const) {
    test(`${family}: more verifies from fresh addresses than the LRU holds do not evict a client's send buckets`, async () => {
      expect(await statuses([0, 1, 2, 3].map(() => post("/v1/otp/send", client)))).toEqual([
        200, 200, 200, 429,
      ]);
      // Verifies with an empty body from 1 100 fresh addresses: refused (400), but each opens a verify bucket.
      const churn = await flood(LRU + 100, (i) => post("/v1/otp/verify", verifier(i), ""));
      expect(new Set(churn)).toEqual(new Set([400]));
      expect((await post("/v1/otp/send", client)).status).toBe(429);
    });
  }

  test("sends refused by an exhausted /48 open no buckets, so they cannot churn the LRU either", async () => {
    const client = "2001:db8:ce:1::1";
    expect(await statuses([0, 1, 2, 3].map(() => post("/v1/otp/send", client)))).toEqual([
      200, 200, 200, 429,
    ]);
    // Another /48: its first 5 sends pass, every later one is refused by its /48 tier before it is recorded.
    const churn = await flood(LRU + 100, (i) => post("/v1/otp/send", `2001:db8:cf:${i.toString(16)}::1`));
    expect(churn.filter((s) => s === 200)).toHaveLength(5);
    expect(churn.filter((s) => s === 429)).toHaveLength(LRU + 95);
    expect((await post("/v1/otp/send", client)).status).toBe(429);
  });
});
