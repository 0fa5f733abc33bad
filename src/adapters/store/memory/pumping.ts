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
  type UnprovenBounds,
  unprovenCount,
} from "../../../domain/pumping";
import { boundedLru } from "../../../lib/lru";

interface PrefixRecord extends PrefixCounts {
  until: number;
  strikes: number;
  /** `*` for the whole prefix, or numbers. */
  safe: Set<string>;
  /** Unproven sends by bucket (see UnprovenBounds). */
  unproven: Map<number, number>;
}

/** Whether a block's safe list (the whole block, or this number) covers a number. */
const safeFor = (record: PrefixRecord, phone: string) => record.safe.has("*") || record.safe.has(phone);

/** Whether a record must outlive its counts: a block (which always has strikes), strikes or a safe list. */
const isHeld = (record: PrefixRecord) => record.strikes > 0 || record.safe.size > 0;
/** Whether a record counts nothing at all. */
const isEmpty = (record: PrefixRecord) =>
  [record.sent, record.verified, record.sentOld, record.verifiedOld, record.unproven].every((m) =>
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
   * As admit.lua's pumping part, counting nothing: the block's verdict, then (unless safe-listed or
   * refused) its range's by rangePolicy. A send that goes ahead is counted afterwards (countSend):
   * Redis counts and takes back, but a count here could push another record out of a full map.
   */
  judge(prefix: string, phone: string, policy: PumpingPolicy): { verdict: PumpVerdict; safe: boolean } {
    const found = this.#find(prefix);
    const safe = found !== undefined && safeFor(found, phone);
    const [, range] = this.#keys(prefix);
    const forget = range ? (held: PrefixCounts) => this.#forget(range, held, policy) : undefined;
    const block = this.check(prefix, phone, policy, false, forget);
    if (block.state !== "clear" || !range || safe) return { verdict: block, safe };
    const wide = this.check(range, phone, rangePolicy(policy), false);
    return { verdict: wide.state === "clear" ? block : { ...wide, range: true }, safe };
  }

  /** Whether the block's safe list (the whole block, or this number) covers a number. */
  isSafe(prefix: string, phone: string): boolean {
    const found = this.#find(prefix);
    return found !== undefined && safeFor(found, phone);
  }

  /** The unproven sends a block and its range hold now (unproven_count). */
  unproven(prefix: string, bounds: UnprovenBounds): { block: number; range: number } {
    const [block = 0, range = 0] = this.#keys(prefix).map((key) => {
      const counts = this.#find(key)?.unproven;
      return counts ? unprovenCount(counts, this.now(), bounds) : 0;
    });
    return { block, range };
  }

  /**
   * A send that goes ahead, counted in its block and its range: its bucket; with `bounds`, it is
   * unproven in both too (the bucket given back when its code is verified).
   */
  countSend(
    prefix: string,
    policy: PumpingPolicy,
    bounds?: UnprovenBounds,
  ): { bucket: number; unproven?: number } {
    let bucket = 0;
    for (const key of this.#keys(prefix)) bucket = this.count(key, "sent", policy);
    if (!bounds) return { bucket };
    const unproven = Math.floor(this.now() / bounds.bucketMs);
    for (const key of this.#keys(prefix)) {
      const record = this.#record(key);
      record.unproven.set(unproven, (record.unproven.get(unproven) ?? 0) + 1);
      const first = Math.floor((this.now() - bounds.windowMs) / bounds.bucketMs);
      for (const j of record.unproven.keys()) if (j < first) record.unproven.delete(j);
      this.#keep(key, record, bounds.windowMs + bounds.bucketMs);
    }
    return { bucket, unproven };
  }

  /** Gives one unproven place of `bucket` back, in the block and its range (unproven_give_back). */
  giveBack(prefix: string, bucket: number): void {
    for (const key of this.#keys(prefix)) {
      const counts = this.#find(key)?.unproven;
      const count = counts?.get(bucket) ?? 0;
      if (counts && count > 0) counts.set(bucket, count - 1);
    }
  }

  #record(prefix: string): PrefixRecord {
    return (
      this.#find(prefix) ?? { ...emptyCounts(), until: 0, strikes: 0, safe: new Set(), unproven: new Map() }
    );
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

  /** Blocks and ranges at a bound on unproven sends now, the most held first. */
  bounded(bounds: UnprovenBounds): { prefix: string; range: boolean; unproven: number }[] {
    const now = this.now();
    return [...new Map([...this.#prefixes.entries(), ...this.#held.entries()])]
      .map(([key, record]) => ({
        prefix: key.startsWith(RANGE) ? key.slice(RANGE.length) : key,
        range: key.startsWith(RANGE),
        unproven: unprovenCount(record.unproven, now, bounds),
      }))
      .filter((b) => b.unproven >= (b.range ? bounds.range : bounds.block))
      .sort((a, b) => b.unproven - a.unproven)
      .slice(0, 100);
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
