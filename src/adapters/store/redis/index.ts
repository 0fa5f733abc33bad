import type { VerificationRef } from "../../../domain/ids";
import { DEFAULT_LAYOUT, type PrefixLayout, tagDigits } from "../../../domain/number-ranges";
import { coarseMs, type PumpingPolicy } from "../../../domain/pumping";
import type { RatePolicy } from "../../../domain/rate-policy";
import type { RateDecision } from "../../../domain/rate-window";
import type { BudgetDecision, SendBudget } from "../../../domain/send-budget";
import { GatewayError } from "../../../errors";
import { type Metrics, noMetrics } from "../../../observability/metrics";
import type { Admission, AdmitChecks, IdempotencyClaim, OtpStore, VerifyStart } from "../port";
import { type AdmitContext, admitOnRedis } from "./admit";
import { connectRedis, type RedisConnection, type ScriptedRedis, whenReady } from "./client";
import { RedisIdempotency } from "./idempotency";
import { budgetKey, pumpKeys, sendsKey, verifiesKey } from "./keys";
import { RedisPumpAdmin } from "./pump-admin";
import { budgetReply, windowDecision } from "./replies";
import { TagSecret } from "./tag-secret";
import { RedisVerifications } from "./verifications";

export interface RedisStoreOptions extends RedisConnection {
  /** Counts failed commands. Default: none. */
  metrics?: Metrics;
  /** PUMPING_PREFIX_DROP and PUMPING_RANGE_DROP: a phone's keys carry its range as hash tag. Default 3 and 5. */
  layout?: PrefixLayout;
  /** How often the tag secret is offered back and read again (redis-tag-secret.ts). Default 10 s. */
  tagSecretRefreshMs?: number;
}

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
  readonly #layout: PrefixLayout;
  /** Digits a phone's keys drop for their hash tag. */
  readonly #digits: number;
  readonly #idempotency: RedisIdempotency;
  readonly #tags: TagSecret;
  readonly #verifications: RedisVerifications;
  readonly #admit: AdmitContext;
  readonly #pumpAdmin: RedisPumpAdmin;

  constructor(options: RedisStoreOptions) {
    this.#metrics = options.metrics ?? noMetrics;
    this.#layout = options.layout ?? DEFAULT_LAYOUT;
    this.#digits = tagDigits(this.#layout);
    const { client, kind } = connectRedis(options);
    this.#redis = client;
    this.kind = kind;
    const call = this.#call.bind(this);
    this.#idempotency = new RedisIdempotency(client, call, this.#digits);
    this.#tags = new TagSecret(client, call, options.tagSecretRefreshMs);
    this.#verifications = new RedisVerifications(client, call);
    this.#pumpAdmin = new RedisPumpAdmin(client, call, this.#layout);
    this.#admit = { redis: client, call, layout: this.#layout, cluster: kind === "redis-cluster" };
  }

  async hit(phone: string, policy: RatePolicy, member: string): Promise<RateDecision> {
    const reply = await this.#call(() => this.#redis.otpHit(sendsKey(phone, this.#digits), member, ...policy.scriptArgs));
    return windowDecision(policy, reply);
  }

  async unhit(phone: string, member: string): Promise<void> {
    await this.#call(() => this.#redis.zrem(sendsKey(phone, this.#digits), member));
  }

  async reserveBudget(budget: SendBudget, record = true): Promise<BudgetDecision> {
    const key = budgetKey(budget.scope);
    return budgetReply(await this.#call(() => this.#redis.otpBudget(key, record ? 1 : 0, ...budget.scriptArgs)));
  }

  async refundBudget(budget: SendBudget, receipt: string): Promise<void> {
    if (!receipt) return;
    await this.#call(() => this.#redis.otpRefundBudget(budgetKey(budget.scope), ...receipt.split(",")));
  }

  admitSend(phone: string, policy: RatePolicy, member: string, checks: AdmitChecks): Promise<Admission> {
    return admitOnRedis(this.#admit, phone, policy, member, checks);
  }

  async pumpUncount(prefix: string, bucket: number): Promise<void> {
    const keys = pumpKeys(prefix, this.#layout).filter((key) => key !== undefined);
    await Promise.all(keys.map((key) => this.#call(() => this.#redis.otpRefundBudget(key, `s:${bucket}`))));
  }

  async pumpRecord(prefix: string, kind: "sent" | "verified", p: PumpingPolicy): Promise<void> {
    const keep = p.windowMs + coarseMs(p);
    const [block, range] = pumpKeys(prefix, this.#layout);
    const field = kind === "sent" ? "s" : "v";
    await this.#call(() =>
      range
        ? this.#redis.otpPumpRecord2(block!, range, field, p.bucketMs, keep)
        : this.#redis.otpPumpRecord(block!, field, p.bucketMs, keep),
    );
  }

  pumpBlocks() {
    return this.#pumpAdmin.blocks();
  }
  pumpLift(prefix: string, range = false): Promise<boolean> {
    return this.#pumpAdmin.lift(prefix, range);
  }
  pumpSafe(prefix: string, number: string | undefined, add: boolean): Promise<void> {
    return this.#pumpAdmin.safe(prefix, number, add);
  }

  async clearPhone(phone: string): Promise<void> {
    const tag = await this.phoneTag(phone);
    // Two slots on a Cluster: the sends under the range's tag, the verifies under the ids' tag.
    await Promise.all([
      this.#call(() => this.#redis.del(sendsKey(phone, this.#digits))),
      this.#call(() => this.#redis.del(verifiesKey(tag))),
    ]);
  }

  claimIdempotency(key: string, phone: string, pendingMs: number): Promise<IdempotencyClaim> {
    return this.#idempotency.claim(key, phone, pendingMs);
  }
  ownIdempotency(key: string, phone: string, pendingMs: number): Promise<"new" | "same" | "other"> {
    return this.#idempotency.own(key, phone, pendingMs);
  }
  completeIdempotency(key: string, phone: string, answer: string, ttlMs: number): Promise<void> {
    return this.#idempotency.complete(key, phone, answer, ttlMs);
  }
  releaseIdempotency(key: string, phone: string, answered = false): Promise<void> {
    return this.#idempotency.release(key, phone, answered);
  }
  unbindIdempotency(key: string, phone: string): Promise<void> {
    return this.#idempotency.unbind(key, phone);
  }

  phoneTag(phone: string): string | Promise<string> {
    return this.#tags.tag(phone);
  }

  saveVerification(id: VerificationRef, phone: string, ttlMs: number): Promise<void> {
    return this.#verifications.save(id, phone, ttlMs);
  }
  beginVerify(id: VerificationRef, maxAttempts: number, window?: { policy: RatePolicy; member: string }): Promise<VerifyStart> {
    return this.#verifications.begin(id, maxAttempts, window);
  }
  claimVerified(id: VerificationRef): Promise<boolean> {
    return this.#verifications.claim(id);
  }
  refundVerify(id: VerificationRef, member: string): Promise<void> {
    return this.#verifications.refund(id, member);
  }

  connected(timeoutMs: number): Promise<boolean> {
    return whenReady(this.#redis, timeoutMs);
  }

  async ping(): Promise<void> {
    await this.#call(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    this.#tags.close();
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
