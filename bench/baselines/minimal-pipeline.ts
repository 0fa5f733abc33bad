// Baseline 3, the floor of this architecture: an Elysia route with a body schema
// that runs one EVALSHA on Redis and one fetch to the same fake upstream.
import { Elysia, t } from "elysia";
import { Redis } from "ioredis";
import { defineTracingHasSubscribers } from "../../src/adapters/store/redis/tracing-channel";

// The gateway gives Bun's TracingChannel its missing `hasSubscribers` (or ioredis traces every
// command); the floor does the same, so that the two compare like for like.
defineTracingHasSubscribers();

/** A setting bench/run.ts passes to this baseline. */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: bench/run.ts starts this baseline with it`);
  return value;
}

const redis = new Redis(required("REDIS_URL"), { enableOfflineQueue: true });
redis.defineCommand("hit", {
  numberOfKeys: 1,
  lua: "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) redis.call('PEXPIRE', KEYS[1], 60000) return redis.call('ZCARD', KEYS[1])",
});
const upstream = required("UPSTREAM_URL");

new Elysia()
  .post(
    "/v1/otp/send",
    async ({ body }) => {
      await (redis as unknown as { hit(k: string, s: number, m: string): Promise<number> }).hit(
        `b:{${body.phone}}`,
        Date.now(),
        crypto.randomUUID(),
      );
      const res = await fetch(`${upstream}/otp/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phoneNumber: body.phone }),
      });
      const answer = (await res.json()) as { data: { requestId: string } };
      return {
        requestId: answer.data.requestId,
        expiresAt: "2026-01-01T00:00:00.000Z",
        attemptsLeft: 3,
        resendAfter: 60,
      };
    },
    { body: t.Object({ phone: t.String({ pattern: "^\\+[1-9][0-9]{6,14}$" }) }) },
  )
  .get("/healthz", () => ({ status: "ok" }))
  .listen({ hostname: "127.0.0.1", port: Number(process.env.PORT) });
