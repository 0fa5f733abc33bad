import type { Cluster, ClusterNode, Redis, RedisOptions } from "ioredis";
import type { Logger } from "../../../observability/logger";
import type { VerifyStart } from "../port";
import { ADMIT_LUA } from "./admit-scripts";
import { BUDGET_LUA, REFUND_BUDGET_LUA } from "./budget-scripts";
import { CLAIM_IDEMPOTENCY_LUA, DELETE_IF_LUA, OWN_IDEMPOTENCY_LUA, RELEASE_IDEMPOTENCY_LUA } from "./idempotency-scripts";
import { PUMP_LIFT_LUA, PUMP_RECORD_LUA, PUMP_SAFE_LUA } from "./pumping-scripts";
import { BEGIN_VERIFY_LUA, CLAIM_VERIFIED_LUA, HIT_LUA, SAVE_VERIFICATION_LUA, TAG_SECRET_LUA } from "./scripts";
import type { ClusterSeeds } from "./seeds";
import { defineTracingHasSubscribers } from "./tracing-channel";

/** The commands this store uses: our scripts plus a few plain ones. */
export interface ScriptedRedis
  extends Pick<
    Redis,
    | "get"
    | "set"
    | "hget"
    | "zrem"
    | "zadd"
    | "zrangebyscore"
    | "zremrangebyscore"
    | "pexpire"
    | "del"
    | "ping"
    | "quit"
    | "disconnect"
    | "on"
    | "once"
    | "off"
    | "status"
  > {
  otpHit(key: string, member: string, ...windows: readonly number[]): Promise<[number, number, number, number, number, number]>;
  otpClaimIdempotency(key: string, phone: string, pendingMs: number): Promise<[string, string?]>;
  otpOwnIdempotency(key: string, phone: string, pendingMs: number): Promise<"new" | "same" | "other">;
  otpReleaseIdempotency(key: string, phone: string, answered: number): Promise<number>;
  otpDeleteIf(key: string, value: string): Promise<number>;
  otpTagSecret(key: string, candidate: string): Promise<string>;
  otpSaveVerification(key: string, phone: string, ttlMs: number): Promise<number>;
  /** BEGIN_VERIFY_LUA on an id's record and its phone's verifies. */
  otpBeginVerify2(
    key: string,
    verifies: string,
    maxAttempts: number,
    member: string,
    windows: string,
  ): Promise<[VerifyStart["state"], ...(string | number)[]]>;
  otpClaimVerified(key: string): Promise<number>;
  otpBudget(
    key: string,
    record: number,
    ...windows: readonly number[]
  ): Promise<[number, number, number, number, string, ...number[]]>;
  otpRefundBudget(key: string, ...fields: string[]): Promise<number>;
  /**
   * ADMIT_LUA with 2 to 6 keys (the phone, its block, its range, up to two budgets, the key's claim):
   * fixed counts, so a Cluster client reads the keys right.
   */
  otpAdmit2(...keysThenArgs: (string | number)[]): Promise<(number | string)[]>;
  otpAdmit3(...keysThenArgs: (string | number)[]): Promise<(number | string)[]>;
  otpAdmit4(...keysThenArgs: (string | number)[]): Promise<(number | string)[]>;
  otpAdmit5(...keysThenArgs: (string | number)[]): Promise<(number | string)[]>;
  otpAdmit6(...keysThenArgs: (string | number)[]): Promise<(number | string)[]>;
  otpPumpRecord(key: string, kind: string, bucketMs: number, keepMs: number): Promise<number>;
  /** PUMP_RECORD_LUA on a block's hash and its range's. */
  otpPumpRecord2(block: string, range: string, kind: string, bucketMs: number, keepMs: number): Promise<number>;
  otpPumpLift(key: string): Promise<number>;
  otpPumpSafe(key: string, field: string, add: number, keepMs: number): Promise<number>;
}

/** Every script, by the command name it is defined as, with its number of keys (one Cluster slot). */
const SCRIPTS = {
  otpHit: HIT_LUA,
  otpClaimIdempotency: CLAIM_IDEMPOTENCY_LUA,
  otpOwnIdempotency: OWN_IDEMPOTENCY_LUA,
  otpReleaseIdempotency: RELEASE_IDEMPOTENCY_LUA,
  otpDeleteIf: DELETE_IF_LUA,
  otpTagSecret: TAG_SECRET_LUA,
  otpSaveVerification: SAVE_VERIFICATION_LUA,
  otpBeginVerify2: BEGIN_VERIFY_LUA,
  otpClaimVerified: CLAIM_VERIFIED_LUA,
  otpBudget: BUDGET_LUA,
  // Takes one back from each field still above 0: budgets' receipts, a pumping count.
  otpRefundBudget: REFUND_BUDGET_LUA,
  otpAdmit2: ADMIT_LUA,
  otpAdmit3: ADMIT_LUA,
  otpAdmit4: ADMIT_LUA,
  otpAdmit5: ADMIT_LUA,
  otpAdmit6: ADMIT_LUA,
  otpPumpRecord: PUMP_RECORD_LUA,
  otpPumpRecord2: PUMP_RECORD_LUA,
  otpPumpLift: PUMP_LIFT_LUA,
  otpPumpSafe: PUMP_SAFE_LUA,
} satisfies Record<keyof Omit<ScriptedRedis, keyof Redis>, string>;

export interface RedisConnection {
  /** `redis://` or `rediss://` URL of one server. */
  url?: string;
  /** A Redis Cluster's seeds and login; used instead of `url` when it has nodes. */
  cluster?: ClusterSeeds;
  /** PEM of the CA that signed the servers' certificates, for `rediss://` (REDIS_TLS_CA_FILE). */
  tlsCa?: string;
  /** A command that has no answer after this long fails (the request then fails closed). */
  commandTimeoutMs: number;
  logger: Logger;
}

/**
 * A client of one Redis or a Cluster with our scripts defined on it. Failure
 * policy: no offline queue and a short command timeout, so a call to a slow or
 * absent Redis fails within `commandTimeoutMs`; ioredis keeps reconnecting in
 * the background, backing off to 2 s.
 */
export function connectRedis(options: RedisConnection): { client: ScriptedRedis; kind: "redis" | "redis-cluster" } {
  const common: RedisOptions = {
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs * 4, 2_000),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // No auto-pipelining: it queues each command for the next tick in a Pipeline of its own, which
    // at a paced 1 600 sends a second cost about 40 µs of CPU per send, and at full load held
    // throughput about 18 % lower for the same CPU per send (BENCHMARKS.md, 2026-12-03).
    enableAutoPipelining: false,
    // Reconnect forever, backing off to 2 s: the gateway must come back when Redis does.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  };
  const log = options.logger;
  // Required here, not imported at the top: evaluating ioredis takes about 8 ms of
  // start-up, which a gateway on the in-memory store never needs to pay.
  defineTracingHasSubscribers(); // before ioredis reads it, once
  const ioredis = require("ioredis") as typeof import("ioredis");
  let client: Redis | Cluster;
  const cluster = options.cluster?.nodes.length ? options.cluster : undefined;
  const kind = cluster ? "redis-cluster" : "redis";
  const tls = options.tlsCa ? { ca: options.tlsCa } : {};
  if (cluster) {
    const nodes: ClusterNode[] = cluster.nodes.map(({ host, port }) => ({ host, port }));
    client = new ioredis.Cluster(nodes, {
      // Every node, the ones found later included, with the seeds' login and TLS.
      redisOptions: {
        ...common,
        username: cluster.username,
        password: cluster.password,
        ...(cluster.tls ? { tls } : {}),
      },
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
      slotsRefreshTimeout: Math.max(options.commandTimeoutMs * 2, 1_000),
    });
  } else {
    const url = options.url ?? "redis://127.0.0.1:6379";
    client = new ioredis.Redis(url, { ...common, ...(/^rediss:/i.test(url) ? { tls } : {}) });
  }
  for (const [name, lua] of Object.entries(SCRIPTS))
    client.defineCommand(name, { numberOfKeys: Number(name.match(/(\d)$/)?.[1] ?? 1), lua });
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
  return { client: client as unknown as ScriptedRedis, kind };
}

/** True once the client is ready (at once if it is), false after `timeoutMs`. */
export function whenReady(client: ScriptedRedis, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.once("ready", onReady);
  });
}
