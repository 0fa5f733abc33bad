import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import {
  captureLogger,
  consoleProvider,
  startMessaging,
  TEST_PEER_HEADER,
  testApp,
  testDeps,
} from "../support/harness";
import { listenApp } from "../support/socket";

const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const app = (env: Record<string, string> = {}) => testApp(startMessaging(fake.url, logger), logger, { env });

describe("X-Forwarded-For and TRUST_PROXY, before the body is read", () => {
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
});

describe("TRUST_PROXY written IPv4-mapped or wider than /96, over a real socket", () => {
  const { logger } = captureLogger();
  for (const trust of ["::ffff:127.0.0.0/104", "::/0"]) {
    test(`${trust}: the loopback proxy's X-Forwarded-For is read, so clients behind it have their own buckets`, async () => {
      const deps = testDeps(consoleProvider(logger), logger, {
        env: { TRUST_PROXY: trust, IP_SEND_LIMITS: "1/1m" },
      });
      const server = listenApp(deps);
      try {
        const send = (client: string) =>
          fetch(`${server.base}/v1/otp/send`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": client },
            body: "{}",
          }).then((r) => r.status);
        // Refused for the body (400), so only the per-IP limit tells clients apart.
        expect(await send("192.0.2.61")).toBe(400);
        expect(await send("192.0.2.62")).toBe(400);
        expect(await send("192.0.2.61")).toBe(429);
      } finally {
        await server.stop();
      }
    });
  }
});
