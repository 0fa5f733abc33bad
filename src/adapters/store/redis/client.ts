import type { Cluster, ClusterNode, Redis, RedisOptions } from "ioredis";
import type { Logger } from "../../../observability/logger";
import { SCRIPTS, type ScriptName } from "./lua-scripts";
import type { ClusterSeeds } from "./seeds";
import { defineTracingHasSubscribers } from "./tracing-channel";

type Reply = (number | string)[];
type BudgetReply = [number, number, number, number, string, ...number[]];

/** The commands this store uses: our scripts (lua-scripts.ts) plus a few plain ones. */
export interface ScriptedRedis
  extends Pick<
    Redis,
    | "get"
    | "set"
    | "hget"
    | "hgetall"
    | "hmget"
    | "hdel"
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
  otpHit(eventsKey: string, member: string, windows: string): Promise<number[]>;
  /**
   * admit.lua with 2 to 9 keys: the phone, its block, its range, its block's proven bits (three
   * generations), up to two budgets, the key's claim.
   */
  otpAdmit2(...keysThenArgs: string[]): Promise<Reply | string>;
  otpAdmit3(...keysThenArgs: string[]): Promise<Reply | string>;
  otpAdmit4(...keysThenArgs: string[]): Promise<Reply | string>;
  otpAdmit5(...keysThenArgs: string[]): Promise<Reply | string>;
  otpAdmit6(...keysThenArgs: string[]): Promise<Reply | string>;
  otpAdmit7(...keysThenArgs: string[]): Promise<Reply | string>;
  otpAdmit8(...keysThenArgs: string[]): Promise<Reply | string>;
  otpAdmit9(...keysThenArgs: string[]): Promise<Reply | string>;
  otpBudget(budgetKey: string, record: number, proven: number, windows: string): Promise<BudgetReply>;
  otpTakeBack(hashKey: string, ...fields: string[]): Promise<number>;
  otpClaimIdempotency(claimKey: string, phone: string, pendingMs: number): Promise<[string, string]>;
  otpOwnIdempotency(ownerKey: string, phone: string, ttlMs: number): Promise<"new" | "same" | "other">;
  otpReleaseIdempotency(
    claimKey: string,
    phone: string,
    how: "release" | "cancel" | "forget",
    keepMs: number,
  ): Promise<number>;
  otpDeleteIf(key: string, expected: string): Promise<number>;
  otpTagSecret(secretKey: string, candidate: string): Promise<string>;
  otpSaveVerification(
    recordKey: string,
    phone: string,
    keepMs: number,
    unproven: string,
    sentAtMs: number,
    expiresAtMs: number,
    attempts: number,
    caller: string,
  ): Promise<number>;
  otpBeginVerify(
    recordKey: string,
    verifiesKey: string,
    maxAttempts: number,
    member: string,
    windows: string,
    nowMs: number,
    caller: string,
  ): Promise<Reply>;
  otpClaimVerified(recordKey: string): Promise<number>;
  otpCancelVerification(
    recordKey: string,
    caller: string,
    nowMs: number,
    maxAttempts: number,
  ): Promise<string[]>;
  otpDelivery(recordKey: string, status: string, rank: number, atMs: number): Promise<number>;
  /** verified.lua with 1 to 3 keys: the block's and the range's pump hashes, the proven bits' key. */
  otpVerified1(...keysThenArgs: (string | number)[]): Promise<number>;
  otpVerified2(...keysThenArgs: (string | number)[]): Promise<number>;
  otpVerified3(...keysThenArgs: (string | number)[]): Promise<number>;
  otpPumpLift(pumpKey: string): Promise<number>;
  otpSafeListAdd(pumpKey: string, field: string, keepMs: number): Promise<number>;
}

/** Every command of ScriptedRedis that is not Redis's own is one of our scripts (a compile error otherwise). */
const scripts: Record<keyof Omit<ScriptedRedis, keyof Redis>, (typeof SCRIPTS)[ScriptName]> = SCRIPTS;

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
export function connectRedis(options: RedisConnection): {
  client: ScriptedRedis;
  kind: "redis" | "redis-cluster";
  /** What keeps the client from Redis when it is known (a refused password), until it is ready again. */
  problem: () => string | undefined;
} {
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
  for (const [name, { keys, lua }] of Object.entries(scripts)) {
    client.defineCommand(name, { numberOfKeys: keys, lua });
  }
  // Without a listener ioredis prints every connection error; one line per state change is enough.
  // A refused login is no outage that passes by itself: an error line, repeated while it lasts.
  let lastError = "";
  let refused: string | undefined;
  let refusedLoggedAt = 0;
  client.on("error", (err: Error) => {
    if (AUTH_REFUSED.test(err.message)) {
      refused =
        "redis refused the gateway's login: check the password (and user) in REDIS_URL or REDIS_CLUSTER_*";
      if (Date.now() - refusedLoggedAt >= AUTH_REPEAT_MS) {
        log.error(refused, { error: err.message });
        refusedLoggedAt = Date.now();
      }
    } else if (err.message !== lastError) {
      log.warn("redis error", { error: err.message });
    }
    lastError = err.message;
  });
  client.on("ready", () => {
    if (lastError) log.info("redis is back");
    lastError = "";
    refused = undefined;
    refusedLoggedAt = 0;
  });
  return { client: client as unknown as ScriptedRedis, kind, problem: () => refused };
}

/** Redis's answers to a login it refuses (a wrong password, a disabled user, none given). */
const AUTH_REFUSED = /^(WRONGPASS|NOAUTH)|invalid password|AUTH failed/i;
/** How often a refused login is logged again while it lasts. */
const AUTH_REPEAT_MS = 30_000;

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
