import type { LRUCache } from "lru-cache";
import { boundedLru } from "../../lib/lru";
import type { PumpingPolicy } from "../../lib/pumping";
import type { RatePolicy } from "../../lib/rate-policy";
import { decide, type RateDecision } from "../../lib/rate-window";
import { type BudgetDecision, budgetDecision, type SendBudget } from "../../lib/send-budget";
import type { EventKind, IdempotencyClaim, OtpStore, VerifyStart } from "./interface";
import { MemoryPumping } from "./memory-pumping";

export interface MemoryStoreOptions {
  /** Entries kept per kind of record; the least recently used go first. Default 100000. */
  maxEntries?: number;
  /** Clock in ms, for tests. Default: monotonic `performance.now`. */
  now?: () => number;
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
  /** Per budget scope, per window: bucket index -> sends. Few scopes, at most ~61 buckets each. */
  readonly #budgets = new Map<string, Map<number, number>[]>();
  readonly #wallClock: () => number;
  readonly #pumping: MemoryPumping;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
    // Budget buckets are slices of wall-clock time, as in Redis.
    this.#wallClock = options.now ?? Date.now;
    const perf = { now: this.#now };
    this.#events = boundedLru(max, { perf });
    this.#idempotency = boundedLru(max, { perf });
    this.#verifications = boundedLru(max, { perf });
    this.#pumping = new MemoryPumping(max, this.#now);
  }

  async hit(phone: string, kind: EventKind, policy: RatePolicy, member: string): Promise<RateDecision> {
    const { decision, record } = this.#window(`${kind}|${phone}`, policy, member);
    if (decision.recorded) record();
    return decision;
  }

  async admitSend(phone: string, policy: RatePolicy, member: string, pump: { prefix: string; policy: PumpingPolicy }) {
    const { decision, record } = this.#window(`send|${phone}`, policy, member);
    if (!decision.allowed) return { decision };
    const verdict = this.#pumping.check(pump.prefix, phone, pump.policy);
    // A blocked prefix in enforce mode: the send does not go, so its event is not recorded.
    const recorded = decision.recorded && (verdict.state === "clear" || pump.policy.mode !== "enforce");
    if (recorded) record();
    return { decision: { ...decision, recorded }, pump: verdict };
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
    const counts = this.#budgets.get(budget.scope) ?? budget.windows.map(() => new Map<number, number>());
    this.#budgets.set(budget.scope, counts);
    const now = this.#wallClock();
    const decision = budgetDecision(counts, now, budget);
    const receipt: string[] = [];
    budget.windows.forEach((w, k) => {
      const buckets = counts[k]!;
      const first = Math.floor((now - w.windowMs) / w.bucketMs);
      for (const j of buckets.keys()) if (j < first) buckets.delete(j);
      if (!decision.allowed || !record) return;
      const bucket = Math.floor(now / w.bucketMs);
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
      receipt.push(`${k + 1}:${bucket}`);
      decision.used[k]! += 1;
    });
    return { ...decision, receipt: receipt.join(",") };
  }

  async refundBudget(budget: SendBudget, receipt: string): Promise<void> {
    const counts = this.#budgets.get(budget.scope);
    for (const field of receipt ? receipt.split(",") : []) {
      const [k, bucket] = field.split(":").map(Number) as [number, number];
      const buckets = counts?.[k - 1];
      const count = buckets?.get(bucket) ?? 0;
      if (count > 0) buckets!.set(bucket, count - 1);
    }
  }

  async pumpUncount(prefix: string, bucket: number): Promise<void> {
    this.#pumping.uncount(prefix, bucket);
  }
  async pumpRecord(prefix: string, kind: "sent" | "verified", policy: PumpingPolicy): Promise<void> {
    this.#pumping.count(prefix, kind, policy);
  }
  async pumpBlocks() {
    return this.#pumping.blocks();
  }
  async pumpLift(prefix: string): Promise<boolean> {
    return this.#pumping.lift(prefix);
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
