import { beforeAll, expect } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { captureLogger } from "../support/harness";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";
import { refusedKeyedSend } from "../support/refused-keyed-send";

/** A refused keyed send on Redis (the memory store: test/http/idempotency-keys.test.ts). */
const { logger } = captureLogger();
beforeAll(() => flushSharedRedis());

refusedKeyedSend("redis", async () => {
  const s = new RedisStore({ url: SHARED_REDIS_URL, commandTimeoutMs: 1_000, logger });
  expect(await s.connected(5_000)).toBe(true);
  return s;
});
