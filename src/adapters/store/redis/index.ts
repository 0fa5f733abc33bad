import type { VerificationRef } from "../../../domain/ids";
import { DEFAULT_LAYOUT, type PrefixLayout, tagDigits } from "../../../domain/number-ranges";
import { coarseMs, numberPrefix, type UnprovenBounds } from "../../../domain/pumping";
import type { RatePolicy } from "../../../domain/rate-policy";
import { generationOf, generationTtlMs, provenIndex } from "../../../domain/returning";
import type { BudgetDecision, SendBudget } from "../../../domain/send-budget";
import type { CancelResult, DeliveryStatus, VerificationState } from "../../../domain/verification-status";
import { GatewayError } from "../../../errors";
import { type Metrics, noMetrics } from "../../../observability/metrics";
import { fromTicket, type TicketData } from "../admission";
import type {
  Admission,
  BoundedPrefix,
  GuardBlock,
  OtpStore,
  SafeEntry,
  SendRequest,
  SendTicket,
  SentCode,
  VerifiedCode,
  VerifyStart,
} from "../port";
import { type AdmitContext, admitOnRedis } from "./admit";
import { connectRedis, type RedisConnection, type ScriptedRedis, whenReady } from "./client";
import { RedisIdempotency } from "./idempotency";
import { budgetKey, DELIVERY_POLLS_KEY, provenKey, pumpKeys, sendsKey, verifiesKey } from "./keys";
import { RedisPumpAdmin } from "./pump-admin";
import { budgetDecision, HIT_REPLY, packed } from "./replies";
import { TagSecret } from "./tag-secret";
import { RedisVerifications } from "./verifications";

export interface RedisStoreOptions extends RedisConnection {
  /** Counts failed commands. Default: none. */
  metrics?: Metrics;
  /** PUMPING_PREFIX_DROP and PUMPING_RANGE_DROP: a phone's keys carry its range as hash tag. Default 3 and 5. */
  layout?: PrefixLayout;
  /** How often the tag secret is offered back and read again (tag-secret.ts). Default 10 s. */
  tagSecretRefreshMs?: number;
  /** Wraps the client once connected: tests slow some commands down to force interleavings. Default: as is. */
  wrapClient?: (client: ScriptedRedis) => ScriptedRedis;
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
  readonly problem: () => string | undefined;
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
    const connection = connectRedis(options);
    const client = options.wrapClient ? options.wrapClient(connection.client) : connection.client;
    const { kind } = connection;
    this.problem = connection.problem;
    this.#redis = client;
    this.kind = kind;
    const call = this.#call.bind(this);
    this.#idempotency = new RedisIdempotency(client, call, this.#digits);
    this.#tags = new TagSecret(client, call, options.tagSecretRefreshMs);
    this.#verifications = new RedisVerifications(client, call);
    this.#pumpAdmin = new RedisPumpAdmin(client, call, this.#layout);
    this.#admit = {
      redis: client,
      call,
      layout: this.#layout,
      cluster: kind === "redis-cluster",
      idempotency: this.#idempotency,
      cancel: (ticket) => this.cancel(ticket),
      release: (ticket) => this.release(ticket),
      noteBounded: (key, windowMs) => this.#pumpAdmin.noteBounded(key, windowMs),
    };
  }

  phoneTag(phone: string): string | Promise<string> {
    return this.#tags.tag(phone);
  }

  admit(request: SendRequest): Promise<Admission> {
    return admitOnRedis(this.#admit, request);
  }

  async cancel(ticket: SendTicket): Promise<void> {
    const data = fromTicket(ticket);
    const { phone, event, receipts, key } = data;
    await Promise.all([
      event && this.#call(() => this.#redis.zrem(sendsKey(phone, this.#digits), event)),
      ...receipts.map(
        ({ budget, receipt }) => receipt && this.#takeBack(budgetKey(budget.scope), receipt.split(",")),
      ),
      this.#takeBackGuardCounts(data),
      // A retry's key keeps its retries: the next send with it is a retry still (its event stays).
      key &&
        (data.retry
          ? this.#idempotency.release(key, phone, data.keyKeepMs ?? 0)
          : this.#idempotency.cancel(key, phone)),
    ]);
  }

  /** The send may have gone out: the window and the budgets keep it; the guard's counts do not (it was not delivered). */
  async release(ticket: SendTicket): Promise<void> {
    const data = fromTicket(ticket);
    await Promise.all([
      this.#takeBackGuardCounts(data),
      data.key && this.#idempotency.release(data.key, data.phone, data.keyKeepMs ?? 0),
    ]);
  }

  /** A send that surely or may not have reached its number never counts toward its block or range. */
  async #takeBackGuardCounts({ pumped, unproven }: TicketData): Promise<void> {
    const fields = new Map<string, string[]>();
    for (const [taken, field] of [
      [pumped, "s"],
      [unproven, "u"],
    ] as const) {
      if (!taken) continue;
      for (const pumpKey of pumpKeys(taken.prefix, this.#layout)) {
        if (pumpKey) fields.set(pumpKey, [...(fields.get(pumpKey) ?? []), `${field}:${taken.bucket}`]);
      }
    }
    await Promise.all([...fields].map(([pumpKey, names]) => this.#takeBack(pumpKey, names)));
  }

  async record(ticket: SendTicket, sent: SentCode): Promise<void> {
    const { phone, key, unproven } = fromTicket(ticket);
    await Promise.all([
      this.#verifications.save(phone, sent, unproven?.bucket),
      key && this.#idempotency.complete(key, phone, sent.answer, sent.answerTtlMs),
    ]);
  }

  async forget(ticket: SendTicket): Promise<void> {
    const { phone, key } = fromTicket(ticket);
    if (key) await this.#idempotency.forget(key, phone);
  }

  beginVerify(
    id: VerificationRef,
    maxAttempts: number,
    window?: { policy: RatePolicy; member: string },
    caller = "",
  ): Promise<VerifyStart> {
    return this.#verifications.begin(id, maxAttempts, window, caller);
  }
  claimVerified(id: VerificationRef): Promise<boolean> {
    return this.#verifications.claim(id);
  }
  refundVerify(id: VerificationRef, member: string): Promise<void> {
    return this.#verifications.refund(id, member);
  }
  verification(id: VerificationRef): Promise<VerificationState | undefined> {
    return this.#verifications.read(id);
  }
  cancelVerification(id: VerificationRef, caller: string, maxAttempts: number): Promise<CancelResult> {
    return this.#verifications.cancel(id, caller, maxAttempts);
  }
  recordDelivery(id: VerificationRef, status: DeliveryStatus, atMs: number): Promise<void> {
    return this.#verifications.recordDelivery(id, status, atMs);
  }
  async takeDeliveryPoll(policy: RatePolicy): Promise<boolean> {
    const reply = await this.#call(() =>
      this.#redis.otpHit(DELIVERY_POLLS_KEY, crypto.randomUUID(), packed(policy)),
    );
    return reply[HIT_REPLY.allowed] === 1;
  }

  async countVerified({ phone, pump, unproven, returning }: VerifiedCode): Promise<void> {
    const pumps = pump ? pumpKeys(pump.prefix, this.#layout).filter((key) => key !== undefined) : [];
    const block = numberPrefix(phone, this.#layout.dropDigits);
    const proven = returning ? [provenKey(block, this.#layout, generationOf(Date.now(), returning))] : [];
    const keys = [...pumps, ...proven];
    const args = [
      `${pumps.length},${proven.length}`,
      pump?.policy.bucketMs ?? 1,
      pump ? pump.policy.windowMs + coarseMs(pump.policy) : 1,
      unproven === undefined ? "" : String(unproven),
      provenIndex(phone, this.#layout.dropDigits),
      returning ? generationTtlMs(returning) : 1,
      phone,
    ];
    const command = (["otpVerified1", "otpVerified2", "otpVerified3"] as const)[keys.length - 1];
    if (!command) return; // nothing to count: the guard is off and no number is remembered
    await this.#call(() => this.#redis[command](...keys, ...args));
  }

  blocks(): Promise<GuardBlock[]> {
    return this.#pumpAdmin.blocks();
  }

  bounded(bounds: UnprovenBounds): Promise<BoundedPrefix[]> {
    return this.#pumpAdmin.bounded(bounds);
  }
  liftBlock(prefix: string): Promise<boolean> {
    return this.#pumpAdmin.liftBlock(prefix);
  }
  liftRange(prefix: string): Promise<boolean> {
    return this.#pumpAdmin.liftRange(prefix);
  }
  addToSafeList(entry: SafeEntry): Promise<void> {
    return this.#pumpAdmin.addSafe(entry);
  }
  removeFromSafeList(entry: SafeEntry): Promise<void> {
    return this.#pumpAdmin.removeSafe(entry);
  }

  async budgetUse(budget: SendBudget): Promise<BudgetDecision> {
    return budgetDecision(
      await this.#call(() => this.#redis.otpBudget(budgetKey(budget.scope), 0, 1, packed(budget))),
    );
  }

  async clearPhone(phone: string): Promise<void> {
    const tag = await this.phoneTag(phone);
    // Two slots on a Cluster: the sends under the range's tag, the verifies under the ids' tag.
    await Promise.all([
      this.#call(() => this.#redis.del(sendsKey(phone, this.#digits))),
      this.#call(() => this.#redis.del(verifiesKey(tag))),
    ]);
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

  async #takeBack(hashKey: string, fields: string[]): Promise<void> {
    await this.#call(() => this.#redis.otpTakeBack(hashKey, ...fields));
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
