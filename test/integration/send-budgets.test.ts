import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { createApp } from "../../src/app";
import { socketPeer } from "../../src/http/guard";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { must } from "../support/given";
import { captureLogger, startMessaging, testDeps } from "../support/harness";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";
import { portOf } from "../support/socket";

const fake = new FakeStartMessaging();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

let phones = 0;
const nextPhone = () => `+9197${String(20_000_000 + phones++).padStart(8, "0")}`;
const json = (phone: string) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ phone }),
});

describe("send budgets shared through Redis", () => {
  test("two gateways on one Redis, 50 parallel sends over real sockets: exactly the budget goes out", async () => {
    await flushSharedRedis();
    const { logger, lines } = captureLogger();
    const stores = [0, 1].map(() => new RedisStore({ url: SHARED_REDIS_URL, commandTimeoutMs: 500, logger }));
    const servers = stores.map((store) => {
      const deps = testDeps(startMessaging(fake.url, logger), logger, {
        store,
        env: { SEND_BUDGETS: "*=20/1h,IN=100/1h" },
      });
      return createApp({ ...deps, http: { ...deps.http, peerAddress: socketPeer } }).listen({
        port: 0,
        hostname: "127.0.0.1",
      });
    });
    const ports = servers.map(portOf);
    try {
      for (const store of stores) expect(await store.connected(5_000)).toBe(true);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`http://127.0.0.1:${ports[i % 2]}/v1/otp/send`, json(nextPhone())),
        ),
      );
      const refused = answers.filter((r) => r.status === 503);
      expect(answers.filter((r) => r.status === 200)).toHaveLength(20);
      expect(refused).toHaveLength(30);
      expect(fake.sms).toHaveLength(20);
      const first = must(refused[0], "a refused send");
      const body = (await first.json()) as { code: string };
      expect(body.code).toBe("SEND_BUDGET_EXHAUSTED");
      expect(Number(first.headers.get("retry-after"))).toBeGreaterThan(3_500);
      // The alert: one error line per gateway and budget window, not one per refusal.
      const alerts = lines
        .map((l) => JSON.parse(l))
        .filter((e) => e.level === "error" && e.msg.startsWith("send budget exhausted"));
      expect(alerts.length).toBeGreaterThanOrEqual(1);
      expect(alerts.length).toBeLessThanOrEqual(2);
      expect(alerts[0]).toMatchObject({ budget: "*", window: "20/1h" });
    } finally {
      for (const server of servers) await server.stop(true);
      for (const store of stores) await store.close();
    }
  });
});
