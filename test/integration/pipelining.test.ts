import { expect } from "bun:test";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { createLogger } from "../../src/observability/logger";
import { pipelinedSends } from "../support/pipelining";
import { flushSharedRedis, SHARED_REDIS_URL } from "../support/redis";

/** HTTP/1.1 pipelining on Redis (the memory store: test/http/pipelining.test.ts). */
pipelinedSends("Redis", async () => {
  await flushSharedRedis();
  const store = new RedisStore({
    url: SHARED_REDIS_URL,
    commandTimeoutMs: 500,
    logger: createLogger({ level: "silent" }),
  });
  expect(await store.connected(5_000)).toBe(true);
  return store;
});
