import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { buildServices } from "../../src/composition-root";
import { loadConfig } from "../../src/config/index";
import { PromMetrics } from "../../src/observability/metrics";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { must } from "../support/given";
import { captureLogger, startMessaging, testApp } from "../support/harness";
import { flushSharedRedis, freePort, RedisProcess, SHARED_REDIS_URL } from "../support/redis";
import { listenApp } from "../support/socket";

const fake = new FakeStartMessaging();
const { logger } = captureLogger();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

async function redisStore(url: string, commandTimeoutMs = 300, metrics?: PromMetrics): Promise<RedisStore> {
  const store = new RedisStore({ url, commandTimeoutMs, logger, metrics });
  expect(await store.connected(5_000)).toBe(true);
  return store;
}

describe("gateways sharing one Redis", () => {
  test("two instances, 50 parallel sends for one phone: exactly the limit passes", async () => {
    await flushSharedRedis();
    const [storeA, storeB] = [await redisStore(SHARED_REDIS_URL), await redisStore(SHARED_REDIS_URL)];
    try {
      const env = { PHONE_SEND_LIMITS: "5/1m,8/1h" };
      const a = testApp(startMessaging(fake.url, logger), logger, { env, store: storeA });
      const b = testApp(startMessaging(fake.url, logger), logger, { env, store: storeB });
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 ? a : b).post("/v1/otp/send", { phone: "+919876500001" }),
        ),
      );
      expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
      expect(answers.filter((r) => r.status === 429)).toHaveLength(45);
      expect(fake.sms).toHaveLength(5);
      // An id issued by one instance verifies on the other (the newest: a resend invalidates older codes).
      const ids = await Promise.all(
        answers
          .filter((r) => r.status === 200)
          .map(async (r) => ((await r.json()) as { verificationId: string }).verificationId),
      );
      const newest = must(fake.sms.at(-1), "an SMS sent").requestId;
      const requestId = must(
        ids.find((id) => id.endsWith(`.${newest}`)),
        "a gateway id for the newest SMS",
      );
      expect(requestId).toBeString();
      const verified = await b.post("/v1/otp/verify", {
        verificationId: requestId,
        code: fake.sentCode(requestId),
      });
      expect(await verified.json()).toEqual({ verified: true });
      expect(
        await (
          await a.post("/v1/otp/verify", { verificationId: requestId, code: fake.sentCode(requestId) })
        ).json(),
      ).toEqual({
        verified: false,
      });
    } finally {
      await storeA.close();
      await storeB.close();
    }
  });
});

describe("when Redis is down at start", () => {
  test("the gateway starts, refuses sends with 503 and is not ready; once Redis comes up it recovers by itself", async () => {
    const server = new RedisProcess(await freePort());
    const store = new RedisStore({ url: server.url, commandTimeoutMs: 300, logger });
    try {
      expect(await store.connected(300)).toBe(false);
      const client = testApp(startMessaging(fake.url, logger), logger, { store });
      const send = await client.post("/v1/otp/send", { phone: "+919876500011" });
      expect(send.status, await send.clone().text()).toBe(503);
      expect((await client.get("/readyz")).status).toBe(503);
      expect(fake.sms).toHaveLength(0);
      await server.start();
      expect(await store.connected(8_000)).toBe(true);
      expect((await client.get("/readyz")).status).toBe(200);
      expect((await client.post("/v1/otp/send", { phone: "+919876500011" })).status).toBe(200);
    } finally {
      await store.close();
      await server.stop();
    }
  });
});

describe("when Redis fails", () => {
  let server: RedisProcess;
  let store: RedisStore;
  let client: ReturnType<typeof testApp>;
  const metrics = new PromMetrics({ version: "0.0.0-test", defaultMetrics: false });
  beforeAll(async () => {
    server = await new RedisProcess(await freePort()).start();
    store = await redisStore(server.url, 300, metrics);
    client = testApp(startMessaging(fake.url, logger), logger, { store, metrics });
  });
  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  test("sends and verifies fail closed with 503 and nothing is sent; /readyz is 503; all recover when Redis is back", async () => {
    const before = await client.post("/v1/otp/send", { phone: "+919876500002" });
    expect(before.status).toBe(200);
    const { verificationId: requestId } = (await before.json()) as { verificationId: string };

    await server.kill();
    const started = performance.now();
    const send = await client.post("/v1/otp/send", { phone: "+919876500003" });
    expect(send.status, await send.clone().text()).toBe(503);
    expect(((await send.json()) as { code: string }).code).toBe("STORE_UNAVAILABLE");
    const verify = await client.post("/v1/otp/verify", {
      verificationId: requestId,
      code: fake.sentCode(requestId),
    });
    expect(verify.status).toBe(503);
    const ready = await client.get("/readyz");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { store: { ok: boolean } } }).checks.store.ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(3_000); // no request hangs
    expect(fake.sms).toHaveLength(1);
    expect(fake.calls("/otp/verify")).toHaveLength(0);
    const errors = /otp_gateway_redis_errors_total (\d+)/.exec(await (await client.get("/metrics")).text());
    expect(Number(errors?.[1])).toBeGreaterThanOrEqual(2);

    await server.start();
    const deadline = Date.now() + 8_000;
    while ((await client.get("/readyz")).status !== 200 && Date.now() < deadline) await Bun.sleep(100);
    expect((await client.get("/readyz")).status).toBe(200);
    expect((await client.post("/v1/otp/send", { phone: "+919876500004" })).status).toBe(200);
  });
});

describe("the budget gauges of gateways sharing one Redis", () => {
  test("a gateway that served no send shows, at its scrape, the budget the others spent", async () => {
    await flushSharedRedis();
    const env = {
      REDIS_URL: SHARED_REDIS_URL,
      STARTMESSAGING_API_KEY: "sm_test_fake_key",
      STARTMESSAGING_BASE_URL: fake.url,
      SEND_BUDGETS: "*=100/1h",
      BUDGET_RESERVE: "20",
      METRICS_ACCESS: "public",
      NODE_ENV: "development",
    };
    const [a, b] = [buildServices(loadConfig(env), logger), buildServices(loadConfig(env), logger)];
    const [gatewayA, gatewayB] = [listenApp(a), listenApp(b)];
    try {
      expect(await a.store.connected(5_000)).toBe(true);
      expect(await b.store.connected(5_000)).toBe(true);
      for (let i = 0; i < 3; i++) {
        const sent = await fetch(`${gatewayA.base}/v1/otp/send`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ phone: `+91987650090${i}` }),
        });
        expect(sent.status).toBe(200);
      }
      const page = await (await fetch(`${gatewayB.base}/metrics`)).text();
      expect(page).toContain('otp_gateway_send_budget_used{budget="*",window="100/1h"} 3');
      expect(page).toContain('otp_gateway_send_budget_open_remaining{budget="*",window="100/1h"} 77');
    } finally {
      await Promise.all([gatewayA.stop(), gatewayB.stop()]);
      await Promise.all([a.store.close(), b.store.close()]);
    }
  });
});
