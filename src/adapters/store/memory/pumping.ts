import type { LRUCache } from "lru-cache";
import { type PrefixLayout, rangeOf, rangePolicy } from "../../../domain/number-ranges";
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
  tally,
} from "../../../domain/pumping";
import { boundedLru } from "../../../lib/lru";

interface PrefixRecord extends PrefixCounts {
  until: number;
  strikes: number;
  /** `*` for the whole prefix, or numbers. */
  safe: Set<string>;
}

/** Whether a block's safe list (the whole block, or this number) covers a number. */
const safeFor = (record: PrefixRecord, phone: string) => record.safe.has("*") || record.safe.has(phone);

/** Whether a record must outlive its counts: a block (which always has strikes), strikes or a safe list. */
const isHeld = (record: PrefixRecord) => record.strikes > 0 || record.safe.size > 0;
/** Whether a record counts nothing at all. */
const isEmpty = (counts: PrefixCounts) =>
  [counts.sent, counts.verified, counts.sentOld, counts.verifiedOld].every((m) =>
    [...m.values()].every((n) => n === 0),
  );
/** What is left of an entry's time to live; 0 when it is not there. */
const remainingMs = (map: LRUCache<string, PrefixRecord>, key: string) => {
  const left = map.getRemainingTTL(key);
  return Number.isFinite(left) && left > 0 ? left : 0;
};

/** A range's record is kept under this mark and its prefix, apart from blocks. */
const RANGE = "range:";

/** The pumping guard's state for the memory store: the same semantics as the Redis scripts. */
export class MemoryPumping {
  readonly #prefixes: LRUCache<string, PrefixRecord>;
  /** Records with a block, strikes or a safe list, here too (the same objects): a full map of counts pushes out its oldest. */
  readonly #held: LRUCache<string, PrefixRecord>;

  constructor(
    maxEntries: number,
    private readonly now: () => number,
    private readonly layout: PrefixLayout,
  ) {
    this.#prefixes = boundedLru(maxEntries, { perf: { now } });
    this.#held = boundedLru(maxEntries, { perf: { now } });
  }

  #find(key: string): PrefixRecord | undefined {
    return this.#prefixes.get(key) ?? this.#held.get(key);
  }

  /** The records a block's sends are counted in: its own, and its range's when it has one. */
  #keys(prefix: string): string[] {
    const range = rangeOf(prefix, this.layout);
    return range === undefined ? [prefix] : [prefix, RANGE + range];
  }

  /**
   * As admit.lua's pumping part: the block, then (unless safe-listed or refused) its range by
   * rangePolicy. The block is counted only once its range lets the send through (Redis counts and
   * takes back; a count here could push another record out of a full map).
   */
  admit(prefix: string, phone: string, policy: PumpingPolicy, count = true): PumpVerdict {
    const found = this.#find(prefix);
    const safe = found !== undefined && safeFor(found, phone);
    const [, range] = this.#keys(prefix);
    const block = this.check(
      prefix,
      phone,
      policy,
      false,
      range ? (held) => this.#forget(range, held, policy) : undefined,
    );
    if (block.state !== "clear") return block;
    if (range && !safe) {
      const wide = this.check(range, phone, rangePolicy(policy), count);
      if (wide.state !== "clear") return { ...wide, range: true };
    }
    return count && !safe ? { ...block, counted: this.count(prefix, "sent", policy) } : block;
  }

  #record(prefix: string): PrefixRecord {
    return this.#find(prefix) ?? { ...emptyCounts(), until: 0, strikes: 0, safe: new Set() };
  }

  #keep(prefix: string, record: PrefixRecord, ttl: number): void {
    // Never shorter than it was, in either map (a record pushed out of the counts is in #held only).
    const keep = { ttl: Math.max(ttl, remainingMs(this.#prefixes, prefix), remainingMs(this.#held, prefix)) };
    this.#prefixes.set(prefix, record, keep);
    if (isHeld(record)) this.#held.set(prefix, record, keep);
    else this.#held.delete(prefix);
  }

  /**
   * As pump_forget: a block just blocked takes the counts it was judged on out of
   * its range (folded alike first: both were judged at this same moment).
   */
  #forget(range: string, held: PrefixCounts, policy: PumpingPolicy): void {
    const record = this.#find(range);
    if (!record) return;
    tally(record, this.now(), policy);
    for (const kind of ["sent", "verified", "sentOld", "verifiedOld"] as const) {
      for (const [j, n] of held[kind]) {
        const have = record[kind].get(j) ?? 0;
        if (have > 0) record[kind].set(j, have - Math.min(n, have));
      }
    }
  }

  /** As pump_check: `count` false (a retried send) judges without counting the send. */
  check(
    prefix: string,
    phone: string,
    policy: PumpingPolicy,
    count = true,
    onBlocked?: (held: PrefixCounts) => void,
  ): PumpVerdict {
    const found = this.#find(prefix);
    if (found && safeFor(found, phone)) return { state: "clear", remainingMs: 0, strikes: found.strikes };
    const record = found ?? this.#record(prefix);
    const now = this.now();
    if (record.until > now) {
      return { state: "blocked", remainingMs: record.until - now, strikes: record.strikes };
    }
    if (judge(record, now, policy)) {
      record.strikes += 1;
      const duration = blockDuration(policy, record.strikes);
      record.until = now + duration;
      onBlocked?.({
        sent: new Map(record.sent),
        verified: new Map(record.verified),
        sentOld: new Map(record.sentOld),
        verifiedOld: new Map(record.verifiedOld),
      });
      for (const counts of [record.sent, record.verified, record.sentOld, record.verifiedOld]) counts.clear();
      for (const map of [this.#prefixes, this.#held]) {
        map.set(prefix, record, { ttl: duration + strikeMemoryMs(policy) });
      }
      return { state: "newly_blocked", remainingMs: duration, strikes: record.strikes };
    }
    if (!count) return { state: "clear", remainingMs: 0, strikes: record.strikes };
    // Clear: the send is counted now (taken back if it does not go out).
    return {
      state: "clear",
      remainingMs: 0,
      strikes: record.strikes,
      counted: this.count(prefix, "sent", policy, record),
    };
  }

  /** Takes back a send `admit` counted, from the block and its range. */
  uncount(prefix: string, bucket: number): void {
    for (const key of this.#keys(prefix)) this.#uncountOne(key, bucket);
  }

  #uncountOne(key: string, bucket: number): void {
    const record = this.#find(key);
    const count = record?.sent.get(bucket) ?? 0;
    if (!record || count === 0) return;
    record.sent.set(bucket, count - 1);
    // A record that held only this send is dropped: sends refused after their prefix was counted
    // (by a budget) must not take places in the map, or a flood of them would evict blocks.
    if (!isHeld(record) && isEmpty(record)) this.#prefixes.delete(key);
  }

  /** Counts one in the block and its range. */
  record(prefix: string, kind: "sent" | "verified", policy: PumpingPolicy): void {
    for (const key of this.#keys(prefix)) this.count(key, kind, policy);
  }

  /** Counts one in one record; returns its bucket. */
  count(key: string, kind: "sent" | "verified", policy: PumpingPolicy, record = this.#record(key)): number {
    const bucket = Math.floor(this.now() / policy.bucketMs);
    const counts = kind === "sent" ? record.sent : record.verified;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    this.#keep(key, record, policy.windowMs + coarseMs(policy));
    return bucket;
  }

  blocks(): { prefix: string; remainingMs: number; strikes: number; range: boolean }[] {
    const now = this.now();
    return [...new Map([...this.#prefixes.entries(), ...this.#held.entries()])]
      .filter(([, record]) => record.until > now)
      .map(([key, record]) => ({
        prefix: key.startsWith(RANGE) ? key.slice(RANGE.length) : key,
        remainingMs: record.until - now,
        strikes: record.strikes,
        range: key.startsWith(RANGE),
      }));
  }

  liftBlock(prefix: string): boolean {
    return this.#lift(prefix);
  }

  liftRange(prefix: string): boolean {
    return this.#lift(RANGE + prefix);
  }

  #lift(key: string): boolean {
    const record = this.#find(key);
    const was = record !== undefined && record.until > this.now();
    if (record) record.until = 0;
    return was;
  }

  /** Puts the whole block (`number` undefined) or one number of it on the safe list. */
  addSafe(prefix: string, number?: string): void {
    const record = this.#record(prefix);
    record.safe.add(number ?? "*");
    this.#keep(prefix, record, SAFE_ENTRY_MS);
  }

  removeSafe(prefix: string, number?: string): void {
    if (!this.#find(prefix)) return;
    const record = this.#record(prefix);
    record.safe.delete(number ?? "*");
    this.#keep(prefix, record, 1);
  }
}
