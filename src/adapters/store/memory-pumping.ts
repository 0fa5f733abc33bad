import type { LRUCache } from "lru-cache";
import { boundedLru } from "../../lib/lru";
import {
  blockDuration,
  coarseMs,
  emptyCounts,
  judge,
  type PrefixCounts,
  type PumpingPolicy,
  type PumpVerdict,
  SAFE_ENTRY_MS,
  strikeMemoryMs,
} from "../../lib/pumping";

interface PrefixRecord extends PrefixCounts {
  until: number;
  strikes: number;
  /** `*` for the whole prefix, or numbers. */
  safe: Set<string>;
}

/** The pumping guard's state for the memory store: the same semantics as the Redis scripts. */
export class MemoryPumping {
  readonly #prefixes: LRUCache<string, PrefixRecord>;

  constructor(
    maxEntries: number,
    private readonly now: () => number,
  ) {
    this.#prefixes = boundedLru(maxEntries, { perf: { now } });
  }

  #record(prefix: string): PrefixRecord {
    return this.#prefixes.get(prefix) ?? { ...emptyCounts(), until: 0, strikes: 0, safe: new Set() };
  }

  #keep(prefix: string, record: PrefixRecord, ttl: number): void {
    const left = this.#prefixes.getRemainingTTL(prefix);
    this.#prefixes.set(prefix, record, { ttl: Math.max(ttl, Number.isFinite(left) && left > 0 ? left : 0) });
  }

  /** As pump_check: `count` false (a retried send) judges without counting the send. */
  check(prefix: string, phone: string, policy: PumpingPolicy, count = true): PumpVerdict {
    const found = this.#prefixes.get(prefix);
    if (found && (found.safe.has("*") || found.safe.has(phone)))
      return { state: "clear", remainingMs: 0, strikes: found.strikes };
    const record = found ?? this.#record(prefix);
    const now = this.now();
    if (record.until > now) return { state: "blocked", remainingMs: record.until - now, strikes: record.strikes };
    if (judge(record, now, policy)) {
      record.strikes += 1;
      const duration = blockDuration(policy, record.strikes);
      record.until = now + duration;
      for (const counts of [record.sent, record.verified, record.sentOld, record.verifiedOld]) counts.clear();
      this.#prefixes.set(prefix, record, { ttl: duration + strikeMemoryMs(policy) });
      return { state: "newly_blocked", remainingMs: duration, strikes: record.strikes };
    }
    if (!count) return { state: "clear", remainingMs: 0, strikes: record.strikes };
    // Clear: the send is counted now (taken back if it does not go out).
    return { state: "clear", remainingMs: 0, strikes: record.strikes, counted: this.count(prefix, "sent", policy, record) };
  }

  uncount(prefix: string, bucket: number): void {
    const counts = this.#prefixes.get(prefix)?.sent;
    const count = counts?.get(bucket) ?? 0;
    if (count > 0) counts!.set(bucket, count - 1);
  }

  /** Counts one; returns its bucket. */
  count(prefix: string, kind: "sent" | "verified", policy: PumpingPolicy, record = this.#record(prefix)): number {
    const bucket = Math.floor(this.now() / policy.bucketMs);
    const counts = kind === "sent" ? record.sent : record.verified;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    this.#keep(prefix, record, policy.windowMs + coarseMs(policy));
    return bucket;
  }

  blocks(): { prefix: string; remainingMs: number; strikes: number }[] {
    const now = this.now();
    return [...this.#prefixes.entries()]
      .filter(([, record]) => record.until > now)
      .map(([prefix, record]) => ({ prefix, remainingMs: record.until - now, strikes: record.strikes }));
  }

  lift(prefix: string): boolean {
    const record = this.#prefixes.get(prefix);
    const was = record !== undefined && record.until > this.now();
    if (record) record.until = 0;
    return was;
  }

  safe(prefix: string, number: string | undefined, add: boolean): void {
    if (!add && !this.#prefixes.has(prefix)) return;
    const record = this.#record(prefix);
    if (add) record.safe.add(number ?? "*");
    else record.safe.delete(number ?? "*");
    this.#keep(prefix, record, add ? SAFE_ENTRY_MS : 1);
  }
}
