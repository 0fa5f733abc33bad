import { randomBytes } from "node:crypto";
import type { LRUCache } from "lru-cache";
import { phoneTag, type VerificationRef, verificationId } from "../../../domain/ids";
import { DEFAULT_LAYOUT, type PrefixLayout } from "../../../domain/number-ranges";
import type { RatePolicy } from "../../../domain/rate-policy";
import type { BudgetDecision, SendBudget } from "../../../domain/send-budget";
import { boundedLru } from "../../../lib/lru";
import { admitted, fromTicket, keyTaken, pumpedCount, type TicketData } from "../admission";
import type {
  Admission,
  GuardBlock,
  OtpStore,
  PumpCheck,
  SafeEntry,
  SendRequest,
  SendTicket,
  SentCode,
  VerifyStart,
} from "../port";
import { MemoryBudgets } from "./budgets";
import { MemoryIdempotency } from "./idempotency";
import { MemoryPumping } from "./pumping";
import { MemoryWindows } from "./windows";

export interface MemoryStoreOptions {
  /** Entries kept per kind of record; the least recently used go first. Default 100000. */
  maxEntries?: number;
  /** Clock in ms, for tests. Default: monotonic `performance.now`. */
  now?: () => number;
  /** PUMPING_PREFIX_DROP and PUMPING_RANGE_DROP. Default 3 and 5. */
  layout?: PrefixLayout;
}

type Verification = { phone: string; attempts: number; verified: boolean };
type SmsRequest = Extract<SendRequest, { kind: "sms" }>;

/**
 * The embedded store for a single process: the same semantics as the Redis
 * store, in bounded LRU maps whose entries expire like the Redis keys do. State
 * is lost on restart and is not shared between processes. One map holds every
 * Idempotency-Key here, so a key's claim is also its binding to one phone.
 */
export class MemoryStore implements OtpStore {
  readonly kind = "memory";
  readonly #now: () => number;
  readonly #windows: MemoryWindows;
  readonly #idempotency: MemoryIdempotency;
  readonly #verifications: LRUCache<string, Verification>;
  readonly #budgets: MemoryBudgets;
  readonly #pumping: MemoryPumping;
  /** One process, one secret: the tags need agree with no other gateway. */
  readonly #secret = randomBytes(32);

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
    // Budget buckets are slices of wall-clock time, as in Redis.
    this.#budgets = new MemoryBudgets(options.now ?? Date.now);
    const perf = { now: this.#now };
    this.#windows = new MemoryWindows(max, this.#now);
    this.#idempotency = new MemoryIdempotency(max, this.#now);
    this.#verifications = boundedLru(max, { perf });
    this.#pumping = new MemoryPumping(max, this.#now, options.layout ?? DEFAULT_LAYOUT);
  }

  phoneTag(phone: string): string {
    return phoneTag(this.#secret, phone);
  }

  async admit(request: SendRequest): Promise<Admission> {
    const { phone, key } = request;
    const claimed = key && this.#idempotency.find(key.key, phone);
    if (claimed) return keyTaken(claimed);
    if (request.kind === "test") {
      if (key) this.#idempotency.take(key.key, phone, key.pendingMs);
      return admitted({ phone, receipts: [], key: key?.key });
    }
    return this.#admitSms(request);
  }

  /**
   * As admit.lua: the phone's windows, the guard's check, the budgets. The budgets are looked at
   * (nothing recorded) before the prefix is counted: a send they refuse counts nowhere, so it takes
   * no place in the pumping map (a full one would push out its oldest). Redis counts, asks the
   * budgets and takes the count back (there the count also lengthens an existing hash's time to
   * live; here a refused send changes nothing).
   */
  #admitSms(request: SmsRequest): Admission {
    const { phone, event, window, key, pump, budgets } = request;
    const { decision, record } = this.#windows.check(`send|${phone}`, window, event);
    if (!decision.allowed) return { kind: "limited", decision };
    const retry = !decision.recorded;
    const checks = retry ? [] : budgets.map((budget) => ({ budget, ...this.#budgets.check(budget) }));
    const affordable = checks.every((c) => c.decision.allowed);
    const verdict = pump && this.#pumping.admit(pump.prefix, phone, pump.policy, !retry && affordable);
    if (verdict && verdict.state !== "clear" && pump.policy.mode === "enforce") {
      return { kind: "blocked", verdict };
    }
    const decisions = checks.map((c) => c.decision);
    if (!affordable) return { kind: "over_budget", budgets: decisions, ...(verdict ? { verdict } : {}) };
    for (const check of checks) check.record();
    if (!retry) record();
    if (key) this.#idempotency.take(key.key, phone, key.pendingMs);
    const ticket: TicketData = {
      phone,
      event: retry ? undefined : event,
      receipts: checks.map((c) => ({ budget: c.budget, receipt: c.decision.receipt })),
      pumped: pumpedCount(pump?.prefix, verdict),
      key: key?.key,
    };
    return admitted(ticket, decision, verdict, retry ? undefined : decisions);
  }

  async cancel(ticket: SendTicket): Promise<void> {
    const { phone, event, receipts, pumped, key } = fromTicket(ticket);
    if (event) this.#windows.remove(`send|${phone}`, event);
    for (const { budget, receipt } of receipts) this.#budgets.refund(budget, receipt);
    if (pumped) this.#pumping.uncount(pumped.prefix, pumped.bucket);
    if (key) this.#idempotency.release(key, phone);
  }

  async release(ticket: SendTicket): Promise<void> {
    const { phone, key } = fromTicket(ticket);
    if (key) this.#idempotency.release(key, phone);
  }

  async record(ticket: SendTicket, sent: SentCode): Promise<void> {
    const { phone, key } = fromTicket(ticket);
    const id = verificationId(sent.id);
    // An id seen before (an upstream replay) keeps its spent attempts.
    if (!this.#verifications.has(id)) {
      this.#verifications.set(id, { phone, attempts: 0, verified: false }, { ttl: sent.ttlMs });
    }
    if (key) this.#idempotency.complete(key, phone, sent.answer, sent.answerTtlMs);
  }

  async forget(ticket: SendTicket): Promise<void> {
    const { phone, key } = fromTicket(ticket);
    if (key) this.#idempotency.forget(key, phone);
  }

  async beginVerify(
    ref: VerificationRef,
    maxAttempts: number,
    window?: { policy: RatePolicy; member: string },
  ): Promise<VerifyStart> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record) return { state: "unknown" };
    const { phone } = record;
    if (record.verified) return { state: "used", phone };
    if (record.attempts >= maxAttempts) return { state: "exhausted", phone };
    if (window) {
      // Only an attempt that goes to the upstream is charged to the phone; a refused one spends nothing.
      const { decision, record: charge } = this.#windows.check(
        `verify|${phone}`,
        window.policy,
        window.member,
      );
      if (!decision.allowed) return { state: "limited", phone, decision };
      charge();
    }
    record.attempts += 1;
    return { state: "ok", phone };
  }

  async claimVerified(ref: VerificationRef): Promise<boolean> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record || record.verified) return false;
    record.verified = true;
    return true;
  }

  async refundVerify(ref: VerificationRef, member: string): Promise<void> {
    const record = this.#verifications.get(verificationId(ref));
    if (record) this.#windows.remove(`verify|${record.phone}`, member);
  }

  async countSent({ prefix, policy }: PumpCheck): Promise<void> {
    this.#pumping.record(prefix, "sent", policy);
  }

  async countVerified({ prefix, policy }: PumpCheck): Promise<void> {
    this.#pumping.record(prefix, "verified", policy);
  }

  async blocks(): Promise<GuardBlock[]> {
    return this.#pumping.blocks();
  }

  async liftBlock(prefix: string): Promise<boolean> {
    return this.#pumping.liftBlock(prefix);
  }

  async liftRange(prefix: string): Promise<boolean> {
    return this.#pumping.liftRange(prefix);
  }

  async addToSafeList(entry: SafeEntry): Promise<void> {
    this.#pumping.addSafe(entry.prefix, "number" in entry ? entry.number : undefined);
  }

  async removeFromSafeList(entry: SafeEntry): Promise<void> {
    this.#pumping.removeSafe(entry.prefix, "number" in entry ? entry.number : undefined);
  }

  async budgetUse(budget: SendBudget): Promise<BudgetDecision> {
    return this.#budgets.check(budget).decision;
  }

  async clearPhone(phone: string): Promise<void> {
    for (const kind of ["send", "verify"] as const) this.#windows.clear(`${kind}|${phone}`);
  }

  async connected(): Promise<boolean> {
    return true;
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
