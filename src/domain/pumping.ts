/** `off`, `monitor` (decide, log and count, refuse nothing) or `enforce`. */
export type PumpingMode = "off" | "monitor" | "enforce";

/**
 * The conversion-driven pumping guard's rules, built once (src/composition-root.ts).
 * Sends and verified sends are counted per number prefix in buckets; a prefix
 * is judged only on sends whose code can no longer be verified.
 */
export interface PumpingPolicy {
  mode: PumpingMode;
  /** Digits dropped from the end of an E.164 number to make its prefix (3: a block of 1 000 numbers). */
  dropDigits: number;
  /** Digits dropped to make the wider range a block is also judged in (5: 100 blocks); 0: no ranges. */
  rangeDropDigits: number;
  /** How far back a prefix's sends are judged. */
  windowMs: number;
  /** Counting granularity of the most recent window / 24: 60 buckets in it (see PrefixCounts). */
  bucketMs: number;
  /** A send counts as unconverted only this long after its bucket ends (the code's lifetime). */
  maturityMs: number;
  /** Judged sends a prefix needs before it can be blocked. */
  minSends: number;
  /** Blocked when verified / judged sends falls below this (0–1). */
  minConversion: number;
  /** First block; each repeat doubles it, up to blockMaxMs. */
  blockMs: number;
  blockMaxMs: number;
  /** Prefixes and numbers (E.164) the guard never blocks, from the environment. */
  safeList: readonly string[];
}

/** What the store's check says of a prefix. */
export interface PumpVerdict {
  state: "clear" | "blocked" | "newly_blocked";
  /** Blocked as part of its wider range (PUMPING_RANGE_DROP), not as a block of its own. */
  range?: boolean;
  /** Clear (and not safe-listed): the bucket the send was counted in by the check, to take it back. */
  counted?: number;
  /** While blocked: ms left. */
  remainingMs: number;
  /** Blocks so far, this one included (escalation). */
  strikes: number;
}

/**
 * The bounds on unproven sends (a send whose code is not verified yet): how many a block and
 * its range may hold in `windowMs`, counted in buckets of `bucketMs`. A verified code gives
 * its own send's place back, never more: only proof earns credit. 0: no bound.
 */
export interface UnprovenBounds {
  block: number;
  range: number;
  windowMs: number;
  bucketMs: number;
}

/** Unproven sends are counted in this many buckets of their window. */
export const UNPROVEN_BUCKETS = 12;

/** The bounds from their settings; undefined when neither bounds anything. */
export function unprovenBounds(block: number, range: number, windowMs: number): UnprovenBounds | undefined {
  if (block === 0 && range === 0) return undefined;
  const bucketMs = Math.max(1, Math.ceil(windowMs / UNPROVEN_BUCKETS));
  // 0 is no bound: a count the window can never reach.
  const none = Number.MAX_SAFE_INTEGER;
  return { block: block || none, range: range || none, windowMs, bucketMs };
}

/**
 * The unproven sends of a window, from counts per bucket: every bucket that overlaps
 * (now - window, now] counts in full. Mirrored by unproven_count (lua/lib/unproven.lua).
 */
export function unprovenCount(
  counts: ReadonlyMap<number, number>,
  now: number,
  bounds: UnprovenBounds,
): number {
  const first = Math.floor((now - bounds.windowMs) / bounds.bucketMs);
  let sum = 0;
  for (const [bucket, count] of counts) if (bucket >= first) sum += count;
  return sum;
}

/** Which rule of the guard refused a send (or, in monitor mode, would have). */
export type GuardRule = "block" | "range" | "block-unproven" | "range-unproven";

/** Safe-list entries are kept this long: an operator re-adds what should stay longer. */
export const SAFE_ENTRY_MS = 365 * 86_400_000;

/** An E.164 number without its last `dropDigits` digits: never a full number, safe to log. */
export const numberPrefix = (e164: string, dropDigits: number) => e164.slice(0, -dropDigits);

/** How long the n-th block of a prefix lasts. */
export const blockDuration = (policy: PumpingPolicy, strikes: number) =>
  Math.min(policy.blockMs * 2 ** Math.max(0, strikes - 1), policy.blockMaxMs);

/** How long a prefix's record outlives its last block: repeats within this escalate. */
export const strikeMemoryMs = (policy: PumpingPolicy) => 2 * policy.blockMaxMs;

/** The policy arguments of pump_check (src/adapters/store/redis/lua/lib/pump.lua), in its order. */
export const pumpScriptArgs = (p: PumpingPolicy) => [
  p.windowMs,
  p.bucketMs,
  p.maturityMs,
  p.minSends,
  p.minConversion,
  p.blockMs,
  p.blockMaxMs,
  strikeMemoryMs(p),
  p.windowMs + coarseMs(p),
];

/** Whether the safe list (environment) covers a number. */
export const safeListed = (policy: PumpingPolicy, e164: string) =>
  policy.safeList.some((entry) => e164.startsWith(entry));

/**
 * A prefix's counts. The last `coarseMs` (window / 24, at least a code's
 * lifetime) are kept in buckets of `bucketMs` (coarse / 60); older buckets are
 * folded into coarse ones, so the whole window costs at most 60 + 24 counters of
 * each kind, and a folded send can no longer be verified.
 */
export interface PrefixCounts {
  sent: Map<number, number>;
  verified: Map<number, number>;
  sentOld: Map<number, number>;
  verifiedOld: Map<number, number>;
}

export const coarseMs = (policy: PumpingPolicy) => policy.bucketMs * 60;

/**
 * Whether a prefix's counts call for a block now; folds fine buckets older than
 * one coarse bucket into coarse ones and drops what the window no longer sees.
 * Judged: sends whose codes have all expired (fine buckets that ended a code
 * lifetime ago, and every folded one). Verifies count wherever they landed in
 * the window, a few of a younger send's too: that only makes the guard more
 * lenient. Mirrored by pump_check (src/adapters/store/redis/lua/lib/pump.lua).
 */
export function judge(counts: PrefixCounts, now: number, policy: PumpingPolicy): boolean {
  const { judged, converted } = tally(counts, now, policy);
  return judged >= policy.minSends && converted < judged * policy.minConversion;
}

/** The judged sends and the verifies of some counts, folding as `judge` says. */
export function tally(
  counts: PrefixCounts,
  now: number,
  policy: PumpingPolicy,
): { judged: number; converted: number } {
  const coarse = coarseMs(policy);
  const firstFine = Math.floor((now - coarse) / policy.bucketMs);
  const firstCoarse = Math.floor((now - policy.windowMs) / coarse);
  const lastJudged = Math.floor((now - policy.maturityMs) / policy.bucketMs) - 1;
  const fold = (fine: Map<number, number>, old: Map<number, number>) => {
    for (const [j, count] of fine) {
      if (j >= firstFine) continue;
      const bucket = Math.floor((j * policy.bucketMs) / coarse);
      old.set(bucket, (old.get(bucket) ?? 0) + count);
      fine.delete(j);
    }
    for (const bucket of old.keys()) if (bucket < firstCoarse) old.delete(bucket);
  };
  fold(counts.sent, counts.sentOld);
  fold(counts.verified, counts.verifiedOld);
  const sum = (m: Map<number, number>, keep: (j: number) => boolean = () => true) =>
    [...m].reduce((total, [j, count]) => total + (keep(j) ? count : 0), 0);
  return {
    judged: sum(counts.sent, (j) => j <= lastJudged) + sum(counts.sentOld),
    converted: sum(counts.verified) + sum(counts.verifiedOld),
  };
}

export const emptyCounts = (): PrefixCounts => ({
  sent: new Map(),
  verified: new Map(),
  sentOld: new Map(),
  verifiedOld: new Map(),
});

/**
 * Each country's conversion as this process sees it (a share of the traffic has
 * the same ratio as all of it, so nothing is shared), over its recent judged
 * sends: the last RECENT buckets whose codes have expired, and the verifies
 * landed by one bucket later. A country is under attack when at least 5 ×
 * minSends of those were sent and fewer than half verified; its blocks are then
 * judged on a quarter of minSends (at least 3), which contains an attack spread
 * over many blocks sooner. The verdict is worked out once per bucket.
 */
export class CountryWatch {
  static readonly RECENT = 15;
  readonly #countries = new Map<string, Map<number, [sent: number, verified: number]>>();
  readonly #verdicts = new Map<string, { bucket: number; policy: PumpingPolicy }>();
  readonly #underAttack: PumpingPolicy;
  /** Buckets a verdict can read: the recent ones, those of codes still live, and one. */
  readonly #keep: number;

  constructor(
    private readonly policy: PumpingPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.#underAttack = { ...policy, minSends: Math.max(3, Math.ceil(policy.minSends / 4)) };
    this.#keep = CountryWatch.RECENT + Math.ceil(policy.maturityMs / policy.bucketMs) + 2;
  }

  count(country: string, kind: "sent" | "verified"): void {
    let buckets = this.#countries.get(country);
    if (!buckets) {
      if (this.#countries.size >= 300) return; // ISO 3166 has 249 codes: anything more is junk
      buckets = new Map();
      this.#countries.set(country, buckets);
    }
    const bucket = Math.floor(this.now() / this.policy.bucketMs);
    const counts = buckets.get(bucket) ?? [0, 0];
    counts[kind === "sent" ? 0 : 1] += 1;
    buckets.set(bucket, counts);
    // Bounded even for a country whose verdict nobody asks for (its numbers all safe-listed).
    if (buckets.size > this.#keep + CountryWatch.RECENT) {
      for (const j of buckets.keys()) if (j < bucket - this.#keep) buckets.delete(j);
    }
  }

  /** The policy a block of this country is judged by now. */
  policyFor(country: string): PumpingPolicy {
    const buckets = this.#countries.get(country);
    if (!buckets) return this.policy;
    const now = this.now();
    const current = Math.floor(now / this.policy.bucketMs);
    const cached = this.#verdicts.get(country);
    if (cached?.bucket === current) return cached.policy;
    const last = Math.floor((now - this.policy.maturityMs) / this.policy.bucketMs) - 1;
    const first = last - CountryWatch.RECENT + 1;
    let judged = 0;
    let converted = 0;
    for (const [j, [sent, verified]] of buckets) {
      if (j < first) buckets.delete(j);
      else {
        if (j <= last) judged += sent;
        if (j <= last + 1) converted += verified;
      }
    }
    const policy =
      judged >= 5 * this.policy.minSends && converted * 2 < judged ? this.#underAttack : this.policy;
    this.#verdicts.set(country, { bucket: current, policy });
    return policy;
  }
}
