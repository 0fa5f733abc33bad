import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { ratePolicy } from "../../src/domain/rate-policy";
import type { RateDecision } from "../../src/domain/rate-window";
import { limitsOf } from "../support/given";
import { captureLogger } from "../support/harness";
import { RedisCluster } from "../support/redis";
import { sendEvent } from "../support/store-steps";

/**
 * A Redis Cluster master dies and its replica takes over: calls fail fast while
 * the slot has no master, then work again, with the limits recorded before the
 * failure still in force (they were replicated; Redis replication is async, so
 * an event written in the last moment before a crash can be lost).
 */
describe("redis-cluster store when a master fails over", () => {
  const { logger } = captureLogger();
  let cluster: RedisCluster;
  let store: RedisStore;
  beforeAll(async () => {
    cluster = await RedisCluster.start({ replicas: 1 });
    store = new RedisStore({ cluster: cluster.connection, commandTimeoutMs: 500, logger });
    expect(await store.connected(5_000)).toBe(true);
  }, 30_000);
  afterAll(async () => {
    await store.close();
    await cluster.stop();
  });

  test("fails fast during the failover, recovers on the promoted replica, and keeps the recorded limit", async () => {
    const phone = "+919876509001";
    const w = ratePolicy("phone", limitsOf("2/1h"));
    expect((await sendEvent(store, phone, w, "e1")).allowed).toBe(true);
    expect((await sendEvent(store, phone, w, "e2")).allowed).toBe(true);
    await Bun.sleep(300); // let the replica catch up

    const master = await cluster.masterOf(`otp:{${phone}}:send`);
    await cluster.node(master).kill();

    // While the slot has no master, a call fails (fast) instead of hanging.
    const started = performance.now();
    const during = await sendEvent(store, phone, w, "e3").then(
      () => "answered",
      (err: { code?: string }) => err.code ?? "unknown",
    );
    expect(["STORE_UNAVAILABLE", "answered"]).toContain(during);
    expect(performance.now() - started).toBeLessThan(3_000);

    // The replica is promoted after cluster-node-timeout (2 s); the store finds it by itself.
    const deadline = Date.now() + 20_000;
    let decision: RateDecision | undefined;
    while (Date.now() < deadline) {
      decision = await sendEvent(store, phone, w, "e4").catch(() => undefined);
      if (decision) break;
      await Bun.sleep(200);
    }
    expect(decision, "the store never recovered after the failover").toBeDefined();
    // The two sends recorded before the crash survived: the window is still full.
    expect(decision?.allowed).toBe(false);
  }, 40_000);
});
