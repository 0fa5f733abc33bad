import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { RedisStore } from "../../src/adapters/store/redis/index";
import { loadConfig } from "../../src/config/index";
import { type PumpingPolicy, unprovenBounds } from "../../src/domain/pumping";
import { ratePolicy } from "../../src/domain/rate-policy";
import { sendBudget } from "../../src/domain/send-budget";
import { createLogger } from "../../src/observability/logger";

const PUMPING_POLICY: PumpingPolicy = defaultPumpingPolicy();

import { limitsOf, must } from "../support/given";
import { captureLogger, defaultPumpingPolicy } from "../support/harness";
import {
  flushSharedRedis,
  freePort,
  makeTlsFiles,
  RedisCluster,
  RedisProcess,
  SHARED_REDIS_URL,
  type TlsFiles,
} from "../support/redis";
import { freshPhone, storeBehaviour } from "../support/store-behaviour";
import {
  admitTo,
  budgetsOf,
  claimKey,
  completeKey,
  countSent,
  countVerified,
  judgePrefix,
  reserve,
  saveRecord,
  sendEvent,
  takeBack,
  verdictOf,
} from "../support/store-steps";

const { logger } = captureLogger();
async function open(url: string, commandTimeoutMs = 500): Promise<RedisStore> {
  const store = new RedisStore({ url, commandTimeoutMs, logger });
  expect(await store.connected(5_000)).toBe(true);
  return store;
}

/** A store and a plain client on the shared Redis, both closed after `body`, whatever it does. */
async function withStore(body: (store: RedisStore, raw: Redis) => Promise<void>): Promise<void> {
  const store = await open(SHARED_REDIS_URL);
  const raw = new Redis(SHARED_REDIS_URL);
  try {
    await body(store, raw);
  } finally {
    raw.disconnect();
    await store.close();
  }
}

storeBehaviour(
  "redis",
  async () => {
    await flushSharedRedis();
    return open(SHARED_REDIS_URL);
  },
  async () => {},
  () => open(SHARED_REDIS_URL),
);

let cluster: RedisCluster | undefined;
storeBehaviour(
  "redis-cluster",
  async () => {
    cluster = await RedisCluster.start();
    const store = new RedisStore({ cluster: cluster.connection, commandTimeoutMs: 1_000, logger });
    expect(await store.connected(5_000)).toBe(true);
    return store;
  },
  async () => cluster?.stop(),
  async () => {
    const store = new RedisStore({
      cluster: must(cluster, "a cluster").connection,
      commandTimeoutMs: 1_000,
      logger,
    });
    expect(await store.connected(5_000)).toBe(true);
    return store;
  },
);

// The same behaviour through a cluster that wants a password and speaks only TLS (rediss://).
let secured: RedisCluster | undefined;
let tls: TlsFiles | undefined;
storeBehaviour(
  "redis-cluster with a password and TLS",
  async () => {
    tls = makeTlsFiles();
    secured = await RedisCluster.start({ auth: { password: "cluster-s3cret", tls } });
    const config = loadConfig({ REDIS_CLUSTER_NODES: secured.setting, REDIS_TLS_CA_FILE: tls.ca });
    expect(config.REDIS_CLUSTER_NODES).toMatchObject({ tls: true, password: "cluster-s3cret" });
    const store = new RedisStore({
      cluster: config.REDIS_CLUSTER_NODES,
      tlsCa: config.REDIS_TLS_CA_FILE,
      commandTimeoutMs: 1_000,
      logger,
    });
    expect(await store.connected(5_000)).toBe(true);
    return store;
  },
  async () => secured?.stop(),
);

/**
 * Seeded random traffic on one pump block (`keys`: its hash and its range's): sends judged, sends
 * and verifies counted beside the check, judged sends taken back; after each judged send, the totals
 * of both hashes are checked.
 */
class PumpTraffic {
  readonly #counted: Awaited<ReturnType<typeof judgePrefix>>[] = [];
  #seed = 7;
  /** Judged sends, each followed by a check. */
  checks = 0;
  /** Checks of a hash that kept running totals. */
  tracked = 0;

  constructor(
    private readonly store: RedisStore,
    private readonly raw: Redis,
    private readonly block: string,
    private readonly keys: readonly string[],
    private readonly policy: PumpingPolicy,
  ) {}

  next(): number {
    this.#seed = (this.#seed * 1103515245 + 12345) % 2 ** 31;
    return this.#seed / 2 ** 31;
  }

  async check(): Promise<void> {
    for (const key of this.keys) if (await expectTotalsMatch(this.raw, key)) this.tracked++;
  }

  async step(): Promise<void> {
    const { store, block, policy } = this;
    const r = this.next();
    const phone = `${block}${String(Math.floor(this.next() * 1000)).padStart(3, "0")}`;
    if (r < 0.5) {
      const verdict = await judgePrefix(store, block, phone, policy);
      expect(verdict.state).toBe("clear");
      if (verdict.counted !== undefined) this.#counted.push(verdict);
      await this.check();
      this.checks++;
    } else if (r < 0.8) {
      await (this.next() < 0.5 ? countVerified(store, block, policy) : countSent(store, block, policy));
    } else if (this.#counted.length > 0) {
      await takeBack(store, this.#counted.splice(Math.floor(this.next() * this.#counted.length), 1)[0] ?? {});
    }
  }
}

/**
 * Checks a pump hash's running totals, J and C, against its count fields. False for a small hash
 * (under 16 count fields): it keeps no totals and is read whole.
 */
async function expectTotalsMatch(raw: Redis, key: string): Promise<boolean> {
  const h = await raw.hgetall(key);
  if (h.g === undefined) {
    expect([h.J, h.C, h.m]).toEqual([undefined, undefined, undefined]);
    return false;
  }
  const { judged, converted } = totalsOfFields(h);
  expect([key, Number(h.J), Number(h.C)]).toEqual([key, judged, converted]);
  return true;
}

/**
 * J and C from a pump hash's fields, by the markers it holds: every S from o on and s up to m;
 * every v and V. Nothing older than the markers may stay behind.
 */
function totalsOfFields(h: Record<string, string>): { judged: number; converted: number } {
  const m = Number(h.m);
  let judged = 0;
  let converted = 0;
  for (const [field, value] of Object.entries(h)) {
    const [, kind, j] = field.match(/^([svSV]):(\d+)$/) ?? [];
    if (!kind) continue;
    const n = Number(value);
    if (kind === "S" || (kind === "s" && Number(j) <= m)) judged += n;
    if (kind === "v" || kind === "V") converted += n;
    const marker = kind === "s" || kind === "v" ? h.f : h.o;
    expect(Number(j)).toBeGreaterThanOrEqual(Number(marker));
  }
  return { judged, converted };
}

describe("a secured cluster refuses what it should", () => {
  test("a wrong password or no CA is never ready, and no error shows the password", async () => {
    tls ??= makeTlsFiles();
    const cluster = await RedisCluster.start({ auth: { password: "right-s3cret", tls } });
    try {
      const lines: string[] = [];
      const quiet = createLogger({ level: "debug", write: (line) => lines.push(line) });
      for (const [setting, ca] of [
        [cluster.setting.replaceAll("right-s3cret", "wrong-s3cret"), tls.ca],
        [cluster.setting, undefined],
        [cluster.seeds.join(","), tls.ca], // plain text to a TLS port
      ] as const) {
        const config = loadConfig({ REDIS_CLUSTER_NODES: setting, ...(ca ? { REDIS_TLS_CA_FILE: ca } : {}) });
        const store = new RedisStore({
          cluster: config.REDIS_CLUSTER_NODES,
          tlsCa: config.REDIS_TLS_CA_FILE,
          commandTimeoutMs: 300,
          logger: quiet,
        });
        expect(await store.connected(1_500)).toBe(false);
        await store.close();
      }
      for (const line of lines) expect(line).not.toContain("s3cret");
    } finally {
      await cluster.stop();
    }
  }, 30_000);
});

describe("redis store, faults and hygiene", () => {
  const w = ratePolicy("phone", limitsOf("5/1m"));

  test("a budget's running totals agree with its buckets: a hash without them, a changed window, refunds, aging", async () => {
    await withStore(async (store, raw) => {
      const scope = `totals-${process.pid}`;
      const key = `otp:budget:{${scope}}`;
      await raw.del(key);
      const budget = sendBudget(scope, [{ limit: 10, windowMs: 3_000, bucketMs: 50, label: "10/3s" }]);
      // A hash written before the totals (buckets only), two seconds old: counted from its buckets;
      // one past the window is dropped.
      const now = Math.floor(Date.now() / 50);
      await raw.hset(key, `1:${now - 40}`, 2, `1:${now - 39}`, 1, `1:${now - 200}`, 5);
      await raw.pexpire(key, 60_000);
      expect((await store.budgetUse(budget)).used).toEqual([3]);
      expect(await raw.hexists(key, `1:${now - 200}`)).toBe(0);
      // A total counted for another window shape is not trusted: counted afresh.
      await raw.hset(key, "t:1", 999, "g:1", "60000/1000");
      expect((await store.budgetUse(budget)).used).toEqual([3]);
      const sent = await reserve(store, budget);
      expect(sent.used).toEqual([4]);
      await takeBack(store, sent);
      expect((await store.budgetUse(budget)).used).toEqual([3]);
      expect(Number(await raw.hget(key, "t:1"))).toBe(3);
      for (let i = 0; i < 7; i++) expect((await reserve(store, budget)).allowed).toBe(true);
      expect((await reserve(store, budget)).allowed).toBe(false);
      // As buckets leave the window, the total goes down with them: the two-second-old ones first.
      await Bun.sleep(1_300);
      const half = await store.budgetUse(budget);
      const fields = await raw.hgetall(key);
      const inBuckets = Object.entries(fields)
        .filter(([f]) => /^1:\d+$/.test(f))
        .reduce((sum, [, n]) => sum + Number(n), 0);
      expect(half.used).toEqual([inBuckets]);
      expect(Number(fields["t:1"])).toBe(inBuckets);
      expect(half.used[0]).toBe(7);
      await Bun.sleep(2_000);
      expect((await store.budgetUse(budget)).used).toEqual([0]);
      expect(Object.keys(await raw.hgetall(key)).filter((f) => /^1:/.test(f))).toEqual([]);
    });
  });

  test("a pump hash's running totals always equal what its buckets hold, as buckets mature, fold, leave and are taken back", async () => {
    await withStore(async (store, raw) => {
      // 10 ms buckets: a coarse bucket is 600 ms, the window three of them; never blocked.
      const policy = {
        ...PUMPING_POLICY,
        windowMs: 1_800,
        bucketMs: 10,
        maturityMs: 50,
        minSends: 1_000_000,
      };
      const range = `+9191${String(process.pid % 1000).padStart(3, "0")}`;
      const block = `${range}42`;
      const rangeKey = `otp:pump:{${range}}`;
      const keys = [`otp:pump:{${range}}42`, rangeKey];
      await raw.del(...keys);
      const traffic = new PumpTraffic(store, raw, block, keys, policy);
      const started = Date.now();
      // 2.5 s: buckets mature, fold into coarse ones, and the first coarse ones leave the window.
      while (Date.now() - started < 2_500) {
        await traffic.step();
        await Bun.sleep(Math.floor(traffic.next() * 25));
      }
      expect(traffic.checks).toBeGreaterThan(30);
      expect(traffic.tracked).toBeGreaterThan(30);
      // After a gap longer than the window and its oldest coarse bucket (2.4 s), counted afresh:
      // nothing of the old traffic is judged any more.
      await Bun.sleep(2_500);
      await judgePrefix(store, block, `${block}000`, policy);
      await traffic.check();
      // Counted afresh, both hashes are small again: their totals are gone, one send is all they hold.
      for (const key of keys) expect((await raw.hgetall(key)).J).toBeUndefined();
      expect(Object.keys(await raw.hgetall(rangeKey)).filter((f) => /^[svSV]:/.test(f))).toHaveLength(1);
    });
  }, 15_000);

  test("sends a budget or the upstream refuses leave no pumping hash and no window behind", async () => {
    await flushSharedRedis();
    await withStore(async (store, raw) => {
      const spent = sendBudget(`spent-${process.pid}`, [
        { limit: 1, windowMs: 60_000, bucketMs: 1_000, label: "1/1m" },
      ]);
      expect((await reserve(store, spent)).allowed).toBe(true);
      const before = await raw.keys("*");
      for (let i = 0; i < 50; i++) {
        const phone = `+9177${String(i * 100_000).padStart(8, "0")}`;
        const admission = await admitTo(store, phone, w, crypto.randomUUID(), {
          budgets: [spent],
          pump: { prefix: phone.slice(0, -3), policy: PUMPING_POLICY },
        });
        expect(budgetsOf(admission)[0]?.allowed).toBe(false);
      }
      expect(await raw.keys("*")).toEqual(before);
      // A send admitted, then refused by the upstream (nothing went out): its count is taken back,
      // and the fresh prefix's hash with it.
      const pumps = await raw.keys("otp:pump:*");
      const phone = "+917712345678";
      const open = sendBudget(`open-${process.pid}`, [
        { limit: 10, windowMs: 60_000, bucketMs: 1_000, label: "10/1m" },
      ]);
      const admitted = await admitTo(store, phone, w, crypto.randomUUID(), {
        budgets: [open],
        pump: { prefix: phone.slice(0, -3), policy: PUMPING_POLICY },
      });
      expect(verdictOf(admitted)?.counted).toBeGreaterThan(0);
      expect((await raw.keys("otp:pump:*")).length).toBeGreaterThan(pumps.length);
      // The upstream refused it: the send is taken back (its window event and budget count too).
      if (admitted.kind === "admitted") await store.cancel(admitted.ticket);
      expect((await raw.keys("otp:pump:*")).sort()).toEqual(pumps.sort());
    });
  });

  test("every key it writes has a TTL", async () => {
    await flushSharedRedis();
    await withStore(async (store, raw) => {
      const phone = freshPhone();
      await sendEvent(store, phone, w, crypto.randomUUID());
      const vid = { tag: await store.phoneTag(phone), inner: "otp_ttl" };
      // Two keys claimed (a claim and a binding each), one answered with the verification record.
      await claimKey(store, "k-ttl", phone, 5_000);
      await completeKey(store, "k-ttl", phone, "{}", 60_000, vid);
      await claimKey(store, "k-ttl-pending", phone, 5_000);
      await saveRecord(store, vid, phone, 60_000);
      await store.beginVerify(vid, 3, { policy: w, member: crypto.randomUUID() });
      await store.claimVerified(vid);
      await reserve(
        store,
        sendBudget("ttl-test", [{ limit: 5, windowMs: 60_000, bucketMs: 1_000, label: "5/1m" }], 0.2),
        phone,
      );
      const pumping = { ...PUMPING_POLICY };
      await countSent(store, "+9198765", pumping);
      // A block at its bound on unproven sends (its hash, and the operators' list of them), and a
      // returning user's bit.
      const bounds = must(unprovenBounds(1, 5, 60_000), "bounds");
      const bounded = { prefix: "+9198768", policy: pumping, bounds };
      for (const n of ["+9198768001", "+9198768002"]) {
        await store.admit({ kind: "sms", phone: n, event: n, window: w, pump: bounded, budgets: [] });
      }
      await Bun.sleep(50); // the list is written beside the refusal
      await store.countVerified({ phone: "+9198768001", returning: { windowMs: 60_000 } });
      await store.addToSafeList({ prefix: "+9198766" });
      // A block, with its entry in the operators' list of blocks.
      const quick = { ...PUMPING_POLICY, windowMs: 600, bucketMs: 10, maturityMs: 20, minSends: 1 };
      await countSent(store, "+9198767", quick);
      await Bun.sleep(60);
      expect((await judgePrefix(store, "+9198767", "+9198767000", quick)).state).toBe("newly_blocked");
      const keys = await raw.keys("*");
      // send events of four numbers and verify events of one, two idempotency claims and their
      // bindings, one verification, one budget, four blocks and their range, the lists of blocks
      // and of bounded ones, one generation of proven bits; and the tag secret
      expect(keys.length, keys.join(" ")).toBe(20);
      // The tag secret is one key, made once and never grown: it lives as long as the Redis does
      // (a Redis that restarts empty makes a new one, and every gateway reads it again).
      expect(await raw.pttl("otp:tag-secret")).toBe(-1);
      for (const key of keys.filter((k) => k !== "otp:tag-secret")) {
        expect(await raw.pttl(key), key).toBeGreaterThan(0);
      }
      // A phone's sends and claims carry its range (the number less 5 digits) as hash tag, its
      // block's and its range's pumping hashes too: one Cluster slot. Its verifies carry its ids' tag.
      const [range, rest] = [phone.slice(0, -5), phone.slice(-5)];
      expect(keys.filter((k) => k.startsWith(`otp:{${range}}:`))).toEqual([`otp:{${range}}:${rest}:send`]);
      expect(keys.filter((k) => k.startsWith(`otp:idem:{${range}}`))).toHaveLength(2);
      expect(keys).toContain(`otp:{${vid.tag}}:verify`);
      expect(keys).toContain(`otp:vid:{${vid.tag}}otp_ttl`);
      expect(keys).toContain("otp:pump:{+91987}67");
      expect(keys).toContain("otp:pump:{+91987}");
      expect(keys.filter((k) => k.startsWith("otp:proven:{+91987}68:"))).toHaveLength(1);
      expect(await raw.zrange("otp:pump:bounded", "0", "-1")).toEqual(["otp:pump:{+91987}68"]);
      // The list of blocks names the blocked hash.
      expect(await raw.zrange("otp:pump:blocks", "0", "-1")).toEqual(["otp:pump:{+91987}67"]);
    });
  });

  test("gateways on one Redis tag a phone's ids alike: the first makes the secret, the rest read it", async () => {
    await flushSharedRedis();
    const [a, b] = await Promise.all([open(SHARED_REDIS_URL), open(SHARED_REDIS_URL)]);
    try {
      const phone = freshPhone();
      // Both ask at once: one secret stands.
      const [tagA, tagB] = await Promise.all([a.phoneTag(phone), b.phoneTag(phone)]);
      expect(tagA).toBe(tagB);
      // An id one gateway issued is begun on the other, its phone's window charged once for both.
      const vid = { tag: tagA, inner: "otp_shared" };
      await saveRecord(a, vid, phone, 60_000);
      const once = { policy: ratePolicy("verify", limitsOf("1/1m")), member: crypto.randomUUID() };
      expect(await b.beginVerify(vid, 3, once)).toEqual({ state: "ok", phone });
      expect(
        (
          await a.beginVerify({ tag: await a.phoneTag(phone), inner: "otp_shared" }, 3, {
            ...once,
            member: "x",
          })
        ).state,
      ).toBe("limited");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("gateways agree on the tag secret again within one refresh after a FLUSHALL, whoever made a new one", async () => {
    await flushSharedRedis();
    const refreshing = async () => {
      const store = new RedisStore({
        url: SHARED_REDIS_URL,
        commandTimeoutMs: 500,
        logger,
        tagSecretRefreshMs: 100,
      });
      expect(await store.connected(5_000)).toBe(true);
      return store;
    };
    const [running, other] = [await refreshing(), await refreshing()];
    try {
      const phone = freshPhone();
      const tag = await running.phoneTag(phone);
      expect(await other.phoneTag(phone)).toBe(tag);
      const raw = new Redis(SHARED_REDIS_URL);
      await raw.flushdb(); // no reconnect: the gateways keep what they read
      // A gateway that starts now finds no secret and makes one; the running ones offer theirs back.
      const started = await refreshing();
      try {
        const startedTag = await started.phoneTag(phone);
        await Bun.sleep(350);
        const tags = [
          await running.phoneTag(phone),
          await other.phoneTag(phone),
          await started.phoneTag(phone),
        ];
        expect(new Set(tags).size, tags.join(" ")).toBe(1);
        expect([tag, startedTag]).toContain(must(tags[0], "a tag"));
        expect(await raw.get("otp:tag-secret")).toBeString();
      } finally {
        await started.close();
        raw.disconnect();
      }
    } finally {
      await Promise.all([running.close(), other.close()]);
    }
  });

  test("recovers after SCRIPT FLUSH (EVALSHA falls back to EVAL on NOSCRIPT)", async () => {
    await withStore(async (store, raw) => {
      const phone = freshPhone();
      expect((await sendEvent(store, phone, w, crypto.randomUUID())).allowed).toBe(true);
      await raw.script("FLUSH");
      expect(await raw.script("EXISTS", "0".repeat(40))).toEqual([0]);
      expect((await sendEvent(store, phone, w, crypto.randomUUID())).allowed).toBe(true);
      expect((await store.beginVerify({ tag: "0123456789abcdef", inner: "otp_none" }, 3)).state).toBe(
        "unknown",
      );
    });
  });

  describe("a Redis that dies and comes back", () => {
    let server: RedisProcess;
    let store: RedisStore;
    beforeAll(async () => {
      server = await new RedisProcess(await freePort()).start();
      store = await open(server.url, 300);
      await store.ping();
    });
    afterAll(async () => {
      await store.close();
      await server.stop();
    });

    test("calls fail fast with STORE_UNAVAILABLE while it is gone, and work again once it is back", async () => {
      const phone = freshPhone();
      expect((await sendEvent(store, phone, w, crypto.randomUUID())).allowed).toBe(true);
      const tagBefore = await store.phoneTag(phone);
      await server.kill();
      const started = performance.now();
      await expect(sendEvent(store, phone, w, crypto.randomUUID())).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
      await expect(store.ping()).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
      expect(performance.now() - started).toBeLessThan(1_500);

      await server.start();
      const deadline = Date.now() + 8_000;
      let back = false;
      while (!back && Date.now() < deadline) {
        back = await store.ping().then(
          () => true,
          () => false,
        );
        if (!back) await Bun.sleep(100);
      }
      expect(back).toBe(true);
      // The restarted server has no scripts loaded and no data: both must be handled.
      expect((await sendEvent(store, phone, w, crypto.randomUUID())).allowed).toBe(true);
      // Nor the tag secret: the store offers back the one it held, and a gateway starting now reads it.
      expect(await store.phoneTag(phone)).toBe(tagBefore);
      const fresh = await open(server.url, 300);
      try {
        expect(await fresh.phoneTag(phone)).toBe(tagBefore);
      } finally {
        await fresh.close();
      }
    });

    test("a Redis slower than the command timeout fails the call instead of hanging", async () => {
      const raw = new Redis(server.url);
      try {
        // DEBUG SLEEP blocks the server for 1 s; our timeout is 300 ms.
        const blocked = raw.call("DEBUG", "SLEEP", "1").catch(() => undefined);
        await Bun.sleep(50);
        const started = performance.now();
        await expect(sendEvent(store, freshPhone(), w, crypto.randomUUID())).rejects.toMatchObject({
          code: "STORE_UNAVAILABLE",
        });
        expect(performance.now() - started).toBeLessThan(900);
        await blocked;
      } finally {
        raw.disconnect();
      }
    });
  });
});
