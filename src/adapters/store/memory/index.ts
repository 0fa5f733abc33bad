import { randomBytes } from "node:crypto";
import type { LRUCache } from "lru-cache";
import { phoneTag, type VerificationRef, verificationId } from "../../../domain/ids";
import { DEFAULT_LAYOUT, type PrefixLayout } from "../../../domain/number-ranges";
import type { PumpingPolicy } from "../../../domain/pumping";
import type { RatePolicy } from "../../../domain/rate-policy";
import { decide, type RateDecision } from "../../../domain/rate-window";
import type { BudgetDecision, SendBudget } from "../../../domain/send-budget";
import { boundedLru } from "../../../lib/lru";
import type { Admission, AdmitChecks, IdempotencyClaim, OtpStore, VerifyStart } from "../port";
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

/**
 * The embedded store for a single process: the same semantics as the Redis
 * store, in bounded LRU maps whose entries expire like the Redis keys do. State
 * is lost on restart and is not shared between processes.
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

  async hit(phone: string, policy: RatePolicy, member: string): Promise<RateDecision> {
    const { decision, record } = this.#windows.check(`send|${phone}`, policy, member);
    if (decision.recorded) record();
    return decision;
  }

  async admitSend(phone: string, policy: RatePolicy, member: string, checks: AdmitChecks): Promise<Admission> {
    const { claim } = checks;
    const claimed = claim && this.#idempotency.find(claim.key, phone);
    if (claimed) return { claim: claimed, decision: { ...decide([], 0, policy.windows), recorded: false } };
    const { decision, record } = this.#windows.check(`send|${phone}`, policy, member);
    if (!decision.allowed) return { decision: { ...decision, recorded: false } };
    // The budgets are looked at (nothing recorded) before the prefix is counted: a send they refuse
    // counts nowhere, so it takes no place in the pumping map (a full one would push out its oldest).
    // The admission is as in Redis, which counts, asks the budgets, and takes the count back (there
    // the count also lengthens an existing hash's time to live; here a refused send changes nothing).
    const budgets = decision.recorded ? (checks.budgets ?? []).map((b) => this.#budgets.check(b)) : [];
    const affordable = budgets.every((b) => b.decision.allowed);
    const { pump } = checks;
    const verdict = pump && this.#pumping.admit(pump.prefix, phone, pump.policy, decision.recorded && affordable);
    const admission: Admission = verdict ? { decision, pump: verdict } : { decision };
    if (verdict && verdict.state !== "clear" && pump.policy.mode === "enforce")
      return { ...admission, decision: { ...decision, recorded: false } };
    // The send goes ahead (unless a budget refuses, below): the key is its own from now on.
    const go = () => {
      if (!claim) return;
      this.#idempotency.take(claim.key, phone, claim.pendingMs);
      admission.claim = { state: "new" };
    };
    // A retry: the budgets are not asked, nothing is recorded.
    if (!decision.recorded) {
      go();
      return admission;
    }
    admission.budgets = budgets.map((b) => b.decision);
    if (!affordable) return { ...admission, decision: { ...decision, recorded: false } };
    for (const b of budgets) b.record();
    record();
    go();
    return admission;
  }

  async unhit(phone: string, member: string): Promise<void> {
    this.#windows.remove(`send|${phone}`, member);
  }

  async reserveBudget(budget: SendBudget, record = true): Promise<BudgetDecision> {
    const check = this.#budgets.check(budget);
    if (record && check.decision.allowed) check.record();
    return check.decision;
  }

  async refundBudget(budget: SendBudget, receipt: string): Promise<void> {
    this.#budgets.refund(budget, receipt);
  }

  async pumpUncount(prefix: string, bucket: number): Promise<void> {
    this.#pumping.uncount(prefix, bucket);
  }
  async pumpRecord(prefix: string, kind: "sent" | "verified", policy: PumpingPolicy): Promise<void> {
    this.#pumping.record(prefix, kind, policy);
  }
  async pumpBlocks() {
    return this.#pumping.blocks();
  }
  async pumpLift(prefix: string, range = false): Promise<boolean> {
    return this.#pumping.lift(prefix, range);
  }
  async pumpSafe(prefix: string, number: string | undefined, add: boolean): Promise<void> {
    this.#pumping.safe(prefix, number, add);
  }
  async clearPhone(phone: string): Promise<void> {
    for (const kind of ["send", "verify"] as const) this.#windows.clear(`${kind}|${phone}`);
  }

  async claimIdempotency(key: string, phone: string, pendingMs: number): Promise<IdempotencyClaim> {
    const claimed = this.#idempotency.find(key, phone);
    if (claimed) return claimed;
    this.#idempotency.take(key, phone, pendingMs);
    return { state: "new" };
  }
  async ownIdempotency(key: string, phone: string): Promise<"new" | "same" | "other"> {
    return this.#idempotency.owner(key, phone);
  }
  async completeIdempotency(key: string, phone: string, answer: string, ttlMs: number): Promise<void> {
    this.#idempotency.complete(key, phone, answer, ttlMs);
  }
  async releaseIdempotency(key: string, phone: string, answered = false): Promise<void> {
    this.#idempotency.release(key, phone, answered);
  }
  /** A binding here is a claim, which a request that kept none never made. */
  async unbindIdempotency(): Promise<void> {}

  phoneTag(phone: string): string {
    return phoneTag(this.#secret, phone);
  }

  async saveVerification(ref: VerificationRef, phone: string, ttlMs: number): Promise<void> {
    const id = verificationId(ref);
    if (this.#verifications.has(id)) return; // an upstream replay keeps its spent attempts
    this.#verifications.set(id, { phone, attempts: 0, verified: false }, { ttl: ttlMs });
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
      const { decision, record: charge } = this.#windows.check(`verify|${phone}`, window.policy, window.member);
      if (!decision.allowed) return { state: "limited", phone, decision };
      charge();
    }
    record.attempts += 1;
    return { state: "ok", phone };
  }

  async refundVerify(ref: VerificationRef, member: string): Promise<void> {
    const record = this.#verifications.get(verificationId(ref));
    if (record) this.#windows.remove(`verify|${record.phone}`, member);
  }

  async claimVerified(ref: VerificationRef): Promise<boolean> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record || record.verified) return false;
    record.verified = true;
    return true;
  }

  async connected(): Promise<boolean> {
    return true;
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
