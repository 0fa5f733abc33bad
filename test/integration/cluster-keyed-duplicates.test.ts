import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { budgetKey, sendsKey } from "../../src/adapters/store/redis/keys";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, startMessaging, testApp } from "../support/harness";
import { RedisCluster } from "../support/redis";

/**
 * On a Cluster the budgets are reserved beside admit.lua, which reads the
 * Idempotency-Key's claim. A duplicate of a keyed send (a replay, one in flight)
 * is answered by the phone's step alone: a slow budget node neither holds it up
 * nor fails it; the slots reserved beside it go back when they answer. (First
 * written by an outside review. A known limit it also found: while the phone's
 * node is slow, a duplicate's slots are held, and a budget at its very edge can
 * refuse a fresh send meanwhile.)
 */
const fake = new FakeStartMessaging();
const { logger } = captureLogger();
let cluster: RedisCluster;
let store: RedisStore;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  cluster = await RedisCluster.start();
  await fake.start();
  store = new RedisStore({ cluster: cluster.connection, commandTimeoutMs: 2_000, logger });
  expect(await store.connected(5_000)).toBe(true);
});
afterAll(async () => {
  await store.close();
  await Promise.all([fake.stop(), cluster.stop()]);
});

/** A phone whose sends live on a master that `ok` accepts (tag digits 5: the default layout). */
async function phoneOn(ok: (port: number) => boolean, from: number): Promise<[string, number]> {
  for (let n = from; ; n += 100_000) {
    const phone = `+91${9_800_000_000 + n}`;
    const port = await cluster.masterOf(sendsKey(phone, 5));
    if (ok(port)) return [phone, port];
  }
}

describe("a Cluster's budgets and keyed duplicates", () => {
  test("a replay of an answered key is answered while a budget's node is slow", async () => {
    const quick = new RedisStore({ cluster: cluster.connection, commandTimeoutMs: 300, logger });
    expect(await quick.connected(5_000)).toBe(true);
    try {
      const gw = testApp(startMessaging(fake.url, logger, { retries: 0 }), logger, {
        store: quick,
        env: { SEND_BUDGETS: "*=100/1h", PHONE_SEND_LIMITS: "100/1m" },
      });
      const budgetNode = await cluster.masterOf(budgetKey("*"));
      const [phone] = await phoneOn((p) => p !== budgetNode, 33);
      const key = { "idempotency-key": crypto.randomUUID() };
      const first = await gw.post("/v1/otp/send", { phone }, key);
      expect(first.status).toBe(200);
      const stall = Bun.spawn(cluster.node(budgetNode).cli("debug", "sleep", "0.8"), { stdout: "ignore" });
      await sleep(50);
      const replay = await gw.post("/v1/otp/send", { phone }, key);
      expect(replay.status, await replay.clone().text()).toBe(200);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      await stall.exited;
    } finally {
      await quick.close();
    }
  });
});
