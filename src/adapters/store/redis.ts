import { createHash } from "node:crypto";
import { GatewayError } from "../../errors";
import { type Metrics, noMetrics } from "../../lib/metrics";
import { coarseMs, type PumpingPolicy, type PumpVerdict, pumpScriptArgs, SAFE_ENTRY_MS } from "../../lib/pumping";
import type { RatePolicy } from "../../lib/rate-policy";
import { type RateDecision, toDecision } from "../../lib/rate-window";
import type { BudgetDecision, SendBudget } from "../../lib/send-budget";
import type { EventKind, IdempotencyClaim, OtpStore } from "./interface";
import { connectRedis, type RedisConnection, type ScriptedRedis } from "./redis-client";

export interface RedisStoreOptions extends RedisConnection {
  /** Counts failed commands. Default: none. */
  metrics?: Metrics;
}

/** Keys: every key of one phone shares the hash tag `{+phone}`, so one decision stays on one Cluster slot. */
const eventsKey = (phone: string, kind: EventKind) => `otp:{${phone}}:${kind}`;
const idempotencyKey = (key: string) => `otp:idem:{${createHash("sha256").update(key).digest("hex").slice(0, 32)}}`;
const verificationKey = (id: string) => `otp:vid:{${id}}`;
/** One hash per budget; the scope is its hash tag (`{*}`, `{IN}`), so all its windows decide on one slot. */
const budgetKey = (scope: string) => `otp:budget:{${scope}}`;
/** One hash per number prefix (its own hash tag); blocked prefixes are also listed in one sorted set. */
const pumpKey = (prefix: string) => `otp:pump:{${prefix}}`;
const BLOCKS_KEY = "otp:pump:blocks";
const PUMP_STATES = ["clear", "blocked", "newly_blocked"] as const;

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
    const { client, kind } = connectRedis(options);
    this.#redis = client;
    this.kind = kind;
  }

  async hit(phone: string, kind: EventKind, policy: RatePolicy, member: string): Promise<RateDecision> {
    const [allowed, index, remaining, waitMs, nextMs, recorded] = await this.#call(() =>
      this.#redis.otpHit(eventsKey(phone, kind), member, ...policy.scriptArgs),
    );
    return toDecision(policy.windows, { allowed: allowed === 1, index, remaining, waitMs, nextMs, recorded: recorded === 1 });
  }

  async unhit(phone: string, kind: EventKind, member: string): Promise<void> {
    await this.#call(() => this.#redis.zrem(eventsKey(phone, kind), member));
  }

  async reserveBudget(budget: SendBudget, record = true): Promise<BudgetDecision> {
    const key = budgetKey(budget.scope);
    const reply = await this.#call(() => this.#redis.otpBudget(key, record ? 1 : 0, ...budget.scriptArgs));
    const [allowed, index, remaining, waitMs, receipt, ...used] = reply;
    return { allowed: allowed === 1, index, remaining, waitMs, receipt, used };
  }

  async refundBudget(budget: SendBudget, receipt: string): Promise<void> {
    if (!receipt) return;
    await this.#call(() => this.#redis.otpRefundBudget(budgetKey(budget.scope), ...receipt.split(",")));
  }

  async pumpCheck(prefix: string, phone: string, p: PumpingPolicy): Promise<PumpVerdict> {
    const args = [phone, ...pumpScriptArgs(p)];
    const [state, remainingMs, strikes, bucket] = await this.#call(() => this.#redis.otpPumpCheck(pumpKey(prefix), ...args));
    const verdict: PumpVerdict = { state: PUMP_STATES[state] ?? "clear", remainingMs, strikes };
    if (bucket !== undefined && bucket >= 0) verdict.counted = bucket;
    if (verdict.state === "newly_blocked") {
      // The operators' list of blocks, on its own slot: written only when a block starts.
      await this.#call(() => this.#redis.zadd(BLOCKS_KEY, Date.now() + remainingMs, prefix));
      await this.#call(() => this.#redis.pexpire(BLOCKS_KEY, p.blockMaxMs));
    }
    return verdict;
  }

  async pumpUncount(prefix: string, bucket: number): Promise<void> {
    await this.#call(() => this.#redis.otpRefundBudget(pumpKey(prefix), `s:${bucket}`));
  }

  async pumpRecord(prefix: string, kind: "sent" | "verified", p: PumpingPolicy): Promise<void> {
    const keep = p.windowMs + coarseMs(p);
    await this.#call(() => this.#redis.otpPumpRecord(pumpKey(prefix), kind === "sent" ? "s" : "v", p.bucketMs, keep));
  }

  async pumpBlocks() {
    const now = Date.now();
    await this.#call(() => this.#redis.zremrangebyscore(BLOCKS_KEY, "-inf", now));
    const flat = await this.#call(() => this.#redis.zrangebyscore(BLOCKS_KEY, now, "+inf", "WITHSCORES"));
    const blocks: { prefix: string; remainingMs: number; strikes: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const prefix = flat[i]!;
      const strikes = Number((await this.#call(() => this.#redis.hget(pumpKey(prefix), "strikes"))) ?? 0);
      blocks.push({ prefix, remainingMs: Number(flat[i + 1]) - now, strikes });
    }
    return blocks;
  }

  async pumpLift(prefix: string): Promise<boolean> {
    const lifted = (await this.#call(() => this.#redis.otpPumpLift(pumpKey(prefix)))) === 1;
    await this.#call(() => this.#redis.zrem(BLOCKS_KEY, prefix));
    return lifted;
  }

  async pumpSafe(prefix: string, number: string | undefined, add: boolean): Promise<void> {
    const field = number ? `safe:${number}` : "safe";
    await this.#call(() => this.#redis.otpPumpSafe(pumpKey(prefix), field, add ? 1 : 0, SAFE_ENTRY_MS));
  }

  async clearPhone(phone: string): Promise<void> {
    await this.#call(() => this.#redis.del(eventsKey(phone, "send"), eventsKey(phone, "verify")));
  }

  async claimIdempotency(key: string, fingerprint: string, pendingMs: number): Promise<IdempotencyClaim> {
    const [state, answer] = await this.#call(() => this.#redis.otpClaimIdempotency(idempotencyKey(key), fingerprint, pendingMs));
    if (state === "done") return { state, answer: answer ?? "" };
    return { state: state as "new" | "pending" | "conflict" };
  }

  async completeIdempotency(key: string, fingerprint: string, answer: string, ttlMs: number): Promise<void> {
    await this.#call(() => this.#redis.set(idempotencyKey(key), JSON.stringify({ f: fingerprint, a: answer }), "PX", ttlMs));
  }

  async releaseIdempotency(key: string, answered = false): Promise<void> {
    if (answered) await this.#call(() => this.#redis.del(idempotencyKey(key)));
    else await this.#call(() => this.#redis.otpReleaseIdempotency(idempotencyKey(key)));
  }

  async saveVerification(id: string, phone: string, ttlMs: number): Promise<void> {
    await this.#call(() => this.#redis.otpSaveVerification(verificationKey(id), phone, ttlMs));
  }

  async verificationPhone(id: string): Promise<string | undefined> {
    return (await this.#call(() => this.#redis.hget(verificationKey(id), "p"))) ?? undefined;
  }

  async beginVerify(id: string, maxAttempts: number) {
    const [state, phone] = await this.#call(() => this.#redis.otpBeginVerify(verificationKey(id), maxAttempts));
    return phone === undefined ? { state } : { state, phone };
  }

  async refundAttempt(id: string): Promise<void> {
    await this.#call(() => this.#redis.otpRefundBudget(verificationKey(id), "n"));
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
