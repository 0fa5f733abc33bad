import type { LRUCache } from "lru-cache";
import { boundedLru } from "../../lib/lru";
import { DEFAULT_LAYOUT, type PrefixLayout } from "../../lib/number-ranges";
import type { PumpingPolicy } from "../../lib/pumping";
import type { RatePolicy } from "../../lib/rate-policy";
import { decide, type RateDecision } from "../../lib/rate-window";
import type { BudgetDecision, SendBudget } from "../../lib/send-budget";
import type { Admission, AdmitChecks, EventKind, IdempotencyClaim, OtpStore, VerifyStart } from "./interface";
import { MemoryBudgets } from "./memory-budgets";
import { MemoryPumping } from "./memory-pumping";

export interface MemoryStoreOptions {
  /** Entries kept per kind of record; the least recently used go first. Default 100000. */
  maxEntries?: number;
  /** Clock in ms, for tests. Default: monotonic `performance.now`. */
  now?: () => number;
  /** PUMPING_PREFIX_DROP and PUMPING_RANGE_DROP. Default 3 and 5. */
  layout?: PrefixLayout;
}

type Idempotency = { fingerprint: string; answer?: string };
type Verification = { phone: string; attempts: number; verified: boolean };

/**
 * The embedded store for a single process: the same semantics as the Redis
 * store, in bounded LRU maps whose entries expire like the Redis keys do. State
 * is lost on restart and is not shared between processes.
 */
export class MemoryStore implements OtpStore {
  readonly kind = "memory";
  readonly #now: () => number;
  readonly #events: LRUCache<string, { at: number; member: string }[]>;
  readonly #idempotency: LRUCache<string, Idempotency>;
  readonly #verifications: LRUCache<string, Verification>;
  readonly #budgets: MemoryBudgets;
  readonly #pumping: MemoryPumping;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
    // Budget buckets are slices of wall-clock time, as in Redis.
    this.#budgets = new MemoryBudgets(options.now ?? Date.now);
    const perf = { now: this.#now };
    this.#events = boundedLru(max, { perf });
    this.#idempotency = boundedLru(max, { perf });
    this.#verifications = boundedLru(max, { perf });
    this.#pumping = new MemoryPumping(max, this.#now, options.layout ?? DEFAULT_LAYOUT);
  }

  async hit(phone: string, kind: EventKind, policy: RatePolicy, member: string): Promise<RateDecision> {
    const { decision, record } = this.#window(`${kind}|${phone}`, policy, member);
    if (decision.recorded) record();
    return decision;
  }

  async admitSend(phone: string, policy: RatePolicy, member: string, checks: AdmitChecks): Promise<Admission> {
    const { decision, record } = this.#window(`send|${phone}`, policy, member);
    if (!decision.allowed) return { decision: { ...decision, recorded: false } };
    const { pump } = checks;
    const verdict = pump && this.#pumping.admit(pump.prefix, phone, pump.policy, decision.recorded);
    const admission: Admission = verdict ? { decision, pump: verdict } : { decision };
    // Blocked and enforced, or a retry: the budgets are not asked, nothing is recorded.
    if (!decision.recorded || (verdict && verdict.state !== "clear" && pump.policy.mode === "enforce"))
      return { ...admission, decision: { ...decision, recorded: false } };
    const budgets = (checks.budgets ?? []).map((b) => this.#budgets.check(b));
    admission.budgets = budgets.map((b) => b.decision);
    if (budgets.some((b) => !b.decision.allowed)) {
      if (verdict?.counted !== undefined) this.#pumping.uncount(pump!.prefix, verdict.counted);
      delete verdict?.counted;
      return { ...admission, decision: { ...decision, recorded: false } };
    }
    for (const b of budgets) b.record();
    record();
    return admission;
  }

  /** The windows' decision for one more event, and how to record it (the log is pruned either way). */
  #window(key: string, policy: RatePolicy, member: string) {
    const now = this.#now();
    const longest = policy.longestMs;
    const events = (this.#events.get(key) ?? []).filter((e) => e.at > now - longest);
    const counted = events.some((e) => e.member === member);
    const decision = decide(
      events.map((e) => e.at),
      now,
      policy.windows,
      counted,
    );
    this.#events.set(key, events, { ttl: longest });
    return { decision, record: () => events.push({ at: now, member }) };
  }

  async unhit(phone: string, kind: EventKind, member: string): Promise<void> {
    const key = `${kind}|${phone}`;
    const events = this.#events.get(key);
    if (events)
      this.#events.set(
        key,
        events.filter((e) => e.member !== member),
        { noUpdateTTL: true },
      );
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
    for (const kind of ["send", "verify"] as const) this.#events.delete(`${kind}|${phone}`);
  }

  async claimIdempotency(key: string, fingerprint: string, pendingMs: number): Promise<IdempotencyClaim> {
    const existing = this.#idempotency.get(key);
    if (!existing) {
      this.#idempotency.set(key, { fingerprint }, { ttl: pendingMs });
      return { state: "new" };
    }
    if (existing.fingerprint !== fingerprint) return { state: "conflict" };
    return existing.answer === undefined ? { state: "pending" } : { state: "done", answer: existing.answer };
  }

  async completeIdempotency(key: string, fingerprint: string, answer: string, ttlMs: number): Promise<void> {
    this.#idempotency.set(key, { fingerprint, answer }, { ttl: ttlMs });
  }

  async releaseIdempotency(key: string, answered = false): Promise<void> {
    if (answered || this.#idempotency.get(key)?.answer === undefined) this.#idempotency.delete(key);
  }

  async saveVerification(id: string, phone: string, ttlMs: number): Promise<void> {
    if (this.#verifications.has(id)) return; // an upstream replay keeps its spent attempts
    this.#verifications.set(id, { phone, attempts: 0, verified: false }, { ttl: ttlMs });
  }

  async beginVerify(id: string, maxAttempts: number): Promise<VerifyStart> {
    const record = this.#verifications.get(id);
    if (!record) return { state: "unknown" };
    if (record.verified) return { state: "used", phone: record.phone };
    if (record.attempts >= maxAttempts) return { state: "exhausted", phone: record.phone };
    record.attempts += 1;
    return { state: "ok", phone: record.phone };
  }

  async refundAttempt(id: string): Promise<void> {
    const record = this.#verifications.get(id);
    if (record && record.attempts > 0) record.attempts -= 1;
  }

  async claimVerified(id: string): Promise<boolean> {
    const record = this.#verifications.get(id);
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
