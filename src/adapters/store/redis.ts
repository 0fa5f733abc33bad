import { createHash } from "node:crypto";
import type { Cluster, ClusterNode, Redis, RedisOptions } from "ioredis";
import { GatewayError } from "../../errors";
import type { Logger } from "../../lib/logger";
import { type Metrics, noMetrics } from "../../lib/metrics";
import type { RatePolicy } from "../../lib/rate-policy";
import { type RateDecision, toDecision } from "../../lib/rate-window";
import type { EventKind, IdempotencyClaim, OtpStore } from "./interface";
import {
  BEGIN_VERIFY_LUA,
  CLAIM_IDEMPOTENCY_LUA,
  CLAIM_VERIFIED_LUA,
  HIT_LUA,
  RELEASE_IDEMPOTENCY_LUA,
  SAVE_VERIFICATION_LUA,
} from "./redis-scripts";

/** The commands this store uses: our scripts plus a few plain ones. */
interface ScriptedRedis
  extends Pick<Redis, "get" | "set" | "hget" | "zrem" | "ping" | "quit" | "disconnect" | "on" | "once" | "off" | "status"> {
  otpHit(key: string, member: string, ...windows: readonly number[]): Promise<[number, number, number, number, number]>;
  otpClaimIdempotency(key: string, fingerprint: string, pendingMs: number): Promise<[string, string?]>;
  otpReleaseIdempotency(key: string): Promise<number>;
  otpSaveVerification(key: string, phone: string, ttlMs: number): Promise<number>;
  otpBeginVerify(key: string, maxAttempts: number): Promise<"ok" | "unknown" | "used" | "exhausted">;
  otpClaimVerified(key: string): Promise<number>;
}

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL of one server. */
  url?: string;
  /** `host:port` seeds of a Redis Cluster; used instead of `url` when given. */
  clusterNodes?: string[];
  /** A command that has no answer after this long fails (the request then fails closed). */
  commandTimeoutMs: number;
  logger: Logger;
  /** Counts failed commands. Default: none. */
  metrics?: Metrics;
}

/** Keys: every key of one phone shares the hash tag `{+phone}`, so one decision stays on one Cluster slot. */
const eventsKey = (phone: string, kind: EventKind) => `otp:{${phone}}:${kind}`;
const idempotencyKey = (key: string) => `otp:idem:{${createHash("sha256").update(key).digest("hex").slice(0, 32)}}`;
const verificationKey = (id: string) => `otp:vid:{${id}}`;

/**
 * The shared store on Redis or Redis Cluster. Failure policy: no offline queue
 * and a short command timeout, so when Redis is slow or gone every call fails
 * within `commandTimeoutMs` with STORE_UNAVAILABLE (a send then costs nothing
 * and sends nothing) instead of hanging; ioredis keeps reconnecting in the
 * background and the gateway recovers by itself.
 */
export class RedisStore implements OtpStore {
  readonly kind: "redis" | "redis-cluster";
  readonly #redis: ScriptedRedis;
  readonly #metrics: Metrics;

  constructor(options: RedisStoreOptions) {
    this.#metrics = options.metrics ?? noMetrics;
    const common: RedisOptions = {
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(options.commandTimeoutMs * 4, 2_000),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Commands issued in one event-loop turn by concurrent requests go out in one write.
      enableAutoPipelining: true,
      // Reconnect forever, backing off to 2 s: the gateway must come back when Redis does.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
    };
    const log = options.logger;
    // Required here, not imported at the top: evaluating ioredis takes about 8 ms of
    // start-up, which a gateway on the in-memory store never needs to pay.
    const ioredis = require("ioredis") as typeof import("ioredis");
    let client: Redis | Cluster;
    if (options.clusterNodes?.length) {
      this.kind = "redis-cluster";
      const nodes: ClusterNode[] = options.clusterNodes.map((n) => {
        const [host, port] = n.split(":");
        return { host: host!, port: Number(port) };
      });
      client = new ioredis.Cluster(nodes, {
        redisOptions: common,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
        slotsRefreshTimeout: Math.max(options.commandTimeoutMs * 2, 1_000),
      });
    } else {
      this.kind = "redis";
      client = new ioredis.Redis(options.url ?? "redis://127.0.0.1:6379", common);
    }
    client.defineCommand("otpHit", { numberOfKeys: 1, lua: HIT_LUA });
    client.defineCommand("otpClaimIdempotency", { numberOfKeys: 1, lua: CLAIM_IDEMPOTENCY_LUA });
    client.defineCommand("otpReleaseIdempotency", { numberOfKeys: 1, lua: RELEASE_IDEMPOTENCY_LUA });
    client.defineCommand("otpSaveVerification", { numberOfKeys: 1, lua: SAVE_VERIFICATION_LUA });
    client.defineCommand("otpBeginVerify", { numberOfKeys: 1, lua: BEGIN_VERIFY_LUA });
    client.defineCommand("otpClaimVerified", { numberOfKeys: 1, lua: CLAIM_VERIFIED_LUA });
    // Without a listener ioredis prints every connection error; one line per state change is enough.
    let lastError = "";
    client.on("error", (err: Error) => {
      if (err.message !== lastError) log.warn("redis error", { error: err.message });
      lastError = err.message;
    });
    client.on("ready", () => {
      if (lastError) log.info("redis is back");
      lastError = "";
    });
    this.#redis = client as unknown as ScriptedRedis;
  }

  async hit(phone: string, kind: EventKind, policy: RatePolicy, member: string): Promise<RateDecision> {
    const [allowed, index, remaining, waitMs, nextMs] = await this.#call(() =>
      this.#redis.otpHit(eventsKey(phone, kind), member, ...policy.scriptArgs),
    );
    return toDecision(policy.windows, { allowed: allowed === 1, index, remaining, waitMs, nextMs });
  }

  async unhit(phone: string, kind: EventKind, member: string): Promise<void> {
    await this.#call(() => this.#redis.zrem(eventsKey(phone, kind), member));
  }

  async claimIdempotency(key: string, fingerprint: string, pendingMs: number): Promise<IdempotencyClaim> {
    const [state, answer] = await this.#call(() => this.#redis.otpClaimIdempotency(idempotencyKey(key), fingerprint, pendingMs));
    if (state === "done") return { state, answer: answer ?? "" };
    return { state: state as "new" | "pending" | "conflict" };
  }

  async completeIdempotency(key: string, fingerprint: string, answer: string, ttlMs: number): Promise<void> {
    await this.#call(() => this.#redis.set(idempotencyKey(key), JSON.stringify({ f: fingerprint, a: answer }), "PX", ttlMs));
  }

  async releaseIdempotency(key: string): Promise<void> {
    await this.#call(() => this.#redis.otpReleaseIdempotency(idempotencyKey(key)));
  }

  async saveVerification(id: string, phone: string, ttlMs: number): Promise<void> {
    await this.#call(() => this.#redis.otpSaveVerification(verificationKey(id), phone, ttlMs));
  }

  async verificationPhone(id: string): Promise<string | undefined> {
    return (await this.#call(() => this.#redis.hget(verificationKey(id), "p"))) ?? undefined;
  }

  async beginVerify(id: string, maxAttempts: number) {
    return this.#call(() => this.#redis.otpBeginVerify(verificationKey(id), maxAttempts));
  }

  async claimVerified(id: string): Promise<boolean> {
    return (await this.#call(() => this.#redis.otpClaimVerified(verificationKey(id)))) === 1;
  }

  async connected(timeoutMs: number): Promise<boolean> {
    if (this.#redis.status === "ready") return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#redis.off("ready", onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#redis.once("ready", onReady);
    });
  }

  async ping(): Promise<void> {
    await this.#call(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  /** Every Redis failure (refused, timed out, cluster down) becomes one retryable error. */
  #call<T>(command: () => Promise<T>): Promise<T> {
    // A plain rejection handler rather than an async wrapper: one promise less per command.
    let pending: Promise<T>;
    try {
      pending = command();
    } catch (err) {
      pending = Promise.reject(err);
    }
    return pending.then(undefined, this.#failed);
  }

  readonly #failed = (err: unknown): never => {
    this.#metrics.redisError();
    throw new GatewayError("STORE_UNAVAILABLE", { retryable: true, cause: err });
  };
}
