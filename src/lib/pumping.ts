/** `off`, `monitor` (decide, log and count, refuse nothing) or `enforce`. */
export type PumpingMode = "off" | "monitor" | "enforce";

/**
 * The conversion-driven pumping guard's rules, built once (src/services.ts).
 * Sends and verified sends are counted per number prefix in buckets; a prefix
 * is judged only on sends whose code can no longer be verified.
 */
export interface PumpingPolicy {
  mode: PumpingMode;
  /** Digits dropped from the end of an E.164 number to make its prefix (3: a block of 1 000 numbers). */
  dropDigits: number;
  /** How far back a prefix's sends are judged. */
  windowMs: number;
  /** Counting granularity: 60 buckets per window. */
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
  /** While blocked: ms left. */
  remainingMs: number;
  /** Blocks so far, this one included (escalation). */
  strikes: number;
}

/** Safe-list entries are kept this long: an operator re-adds what should stay longer. */
export const SAFE_ENTRY_MS = 365 * 86_400_000;

/** An E.164 number without its last `dropDigits` digits: never a full number, safe to log. */
export const numberPrefix = (e164: string, dropDigits: number) => e164.slice(0, -dropDigits);

/** How long the n-th block of a prefix lasts. */
export const blockDuration = (policy: PumpingPolicy, strikes: number) =>
  Math.min(policy.blockMs * 2 ** Math.max(0, strikes - 1), policy.blockMaxMs);

/** How long a prefix's record outlives its last block: repeats within this escalate. */
export const strikeMemoryMs = (policy: PumpingPolicy) => 2 * policy.blockMaxMs;

/** Whether the safe list (environment) covers a number. */
export const safeListed = (policy: PumpingPolicy, e164: string) => policy.safeList.some((entry) => e164.startsWith(entry));

/**
 * Whether a prefix's counts call for a block now. `sent` and `verified` map a
 * bucket (floor(ms / bucketMs)) to a count. Judged: sends in buckets of the
 * window whose codes have all expired. Their verifies may land up to one code
 * lifetime later, so verifies are read that far further: a few of an older
 * send's verifies may count, which only makes the guard more lenient.
 * Mirrored by PUMP_CHECK_LUA (src/adapters/store/pumping-scripts.ts).
 */
export function callsForBlock(
  sent: ReadonlyMap<number, number>,
  verified: ReadonlyMap<number, number>,
  now: number,
  policy: PumpingPolicy,
): boolean {
  const first = Math.floor((now - policy.windowMs) / policy.bucketMs);
  const lastJudged = Math.floor((now - policy.maturityMs) / policy.bucketMs) - 1;
  const lastVerify = lastJudged + Math.ceil(policy.maturityMs / policy.bucketMs);
  let judged = 0;
  let converted = 0;
  for (const [j, count] of sent) if (j >= first && j <= lastJudged) judged += count;
  for (const [j, count] of verified) if (j >= first && j <= lastVerify) converted += count;
  return judged >= policy.minSends && converted < judged * policy.minConversion;
}
