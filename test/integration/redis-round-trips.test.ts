import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { FakeStartMessaging } from "../support/fake-startmessaging";
import { captureLogger, RELAXED_ENV, startMessaging, testApp } from "../support/harness";
import { flushSharedRedis } from "../support/redis";

/**
 * Sequential store round trips per operation, counted on the wire: a TCP proxy
 * between the gateway and Redis counts the bursts of commands the gateway writes
 * before each reply comes back (commands issued together go out in one burst).
 * Fails if a send or a verify grows a sequential round trip.
 */
class CountingProxy {
  bursts = 0;
  #inBurst = false;
  readonly #server = net.createServer((client) => {
    const redis = net.connect({ host: "127.0.0.1", port: 6379 });
    client.on("data", (chunk) => {
      if (!this.#inBurst) this.bursts += 1;
      this.#inBurst = true;
      redis.write(chunk);
    });
    redis.on("data", (chunk) => {
      this.#inBurst = false;
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      redis.destroy();
    };
    client.on("close", close);
    redis.on("close", close);
    client.on("error", close);
    redis.on("error", close);
  });
  port = 0;
  async start() {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }
  stop() {
    this.#server.close();
  }
}

const fake = new FakeStartMessaging();
const proxy = new CountingProxy();
const { logger } = captureLogger();
let store: RedisStore;
beforeAll(async () => {
  await Promise.all([fake.start(), proxy.start(), flushSharedRedis()]);
  store = new RedisStore({ url: `redis://127.0.0.1:${proxy.port}/15`, commandTimeoutMs: 1_000, logger });
  expect(await store.connected(5_000)).toBe(true);
  // The tag secret is read once per connection (the first send's extra round trip), not per request.
  await store.phoneTag("+919876500000");
});
afterAll(async () => {
  await store.close();
  proxy.stop();
  await fake.stop();
});

/** The store round trips one request makes, the spend guard on (its defaults), one request at a time. */
async function roundTrips(request: () => Promise<Response>): Promise<{ trips: number; status: number }> {
  await Bun.sleep(20);
  const before = proxy.bursts;
  const res = await request();
  await res.arrayBuffer();
  return { trips: proxy.bursts - before, status: res.status };
}

describe("store round trips per operation, counted on the wire", () => {
  const { SEND_BUDGETS: _, PUMPING_MIN_SENDS: __, ...relaxed } = RELAXED_ENV;
  const client = () => testApp(startMessaging(fake.url, logger), logger, { store, env: relaxed });
  let phones = 0;
  const phone = () => `+9198765${String(30_000 + phones++).padStart(5, "0")}`;

  test("a send: one before the upstream and one after, with an Idempotency-Key too; a replay is one", async () => {
    const app = client();
    expect(await roundTrips(() => app.post("/v1/otp/send", { phone: phone() }))).toEqual({
      trips: 2,
      status: 200,
    });
    // The key's claim goes with the checks (one atomic step on the phone's slot), its binding to the
    // phone beside them; its answer goes with the verification record.
    const key = { "idempotency-key": crypto.randomUUID() };
    const number = phone();
    expect(await roundTrips(() => app.post("/v1/otp/send", { phone: number }, key))).toEqual({
      trips: 2,
      status: 200,
    });
    expect(await roundTrips(() => app.post("/v1/otp/send", { phone: number }, key))).toEqual({
      trips: 1,
      status: 200,
    });
  });

  test("a verify: one with a wrong code; two with the right one (and the pumping count, not awaited)", async () => {
    const app = client();
    const res = await app.post("/v1/otp/send", { phone: phone() });
    const { verificationId: requestId } = (await res.json()) as { verificationId: string };
    expect(
      await roundTrips(() => app.post("/v1/otp/verify", { verificationId: requestId, code: "000000" })),
    ).toEqual({
      trips: 1,
      status: 200,
    });
    const right = await roundTrips(() =>
      app.post("/v1/otp/verify", { verificationId: requestId, code: fake.sentCode(requestId) }),
    );
    expect(right.status).toBe(200);
    expect(right.trips).toBeLessThanOrEqual(3); // begin (with the window), claim; the pumping count may land before the answer
    expect(right.trips).toBeGreaterThanOrEqual(2);
    // An id the gateway never issued costs no round trip at all.
    expect(
      await roundTrips(() => app.post("/v1/otp/verify", { verificationId: "req_forged", code: "000000" })),
    ).toEqual({
      trips: 0,
      status: 200,
    });
  });
});
