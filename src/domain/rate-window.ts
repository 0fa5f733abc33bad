import { parseDuration } from "../lib/duration";

/** One sliding window: at most `limit` events in any `windowMs`. */
export interface Window {
  limit: number;
  windowMs: number;
  /** As configured, e.g. `3/10m`. */
  label: string;
}

/** `count/duration`, comma-separated: `1/1m,3/10m,5/1h,10/24h`. */
export const LIMITS_PATTERN = "^\\s*[0-9]+/[0-9]+(ms|s|m|h|d)(\\s*,\\s*[0-9]+/[0-9]+(ms|s|m|h|d))*\\s*$";

export function parseLimits(text: string): Window[] | undefined {
  if (!new RegExp(LIMITS_PATTERN).test(text)) return undefined;
  const windows: Window[] = [];
  for (const part of text.split(",")) {
    const [count, duration] = part.trim().split("/") as [string, string];
    const windowMs = parseDuration(duration);
    const limit = Number(count);
    if (!windowMs || !Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) return undefined;
    windows.push({ limit, windowMs, label: part.trim() });
  }
  return windows;
}

/**
 * A rate-limit decision as a value (the controller turns a denial into 429).
 * `policy` names the window that decided: the one denying with the longest
 * wait, or, when allowed, the one with the fewest requests left.
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the deciding window frees a slot (ceil). */
  resetSeconds: number;
  /** Seconds before a retry can pass every window (ceil; 0 when allowed). */
  retryAfterSeconds: number;
  /** When allowed: seconds after this event before the next one can pass every window. */
  nextAllowedSeconds: number;
  policy: string;
  /** Whether this check recorded the event (not when denied, nor when it was recorded before: a retry). */
  recorded: boolean;
}

/**
 * The raw outcome of a window check, as both implementations produce it (the
 * Redis Lua script returns exactly these five numbers).
 */
export interface RawDecision {
  allowed: boolean;
  /** Index of the deciding window. */
  index: number;
  remaining: number;
  /** Denied: ms until a retry passes every window. Allowed: ms until the deciding window frees a slot. */
  waitMs: number;
  /** Allowed: ms after this event before the next can pass every window. */
  nextMs: number;
  /** The event is recorded by this check: allowed, and not in the log already. */
  recorded: boolean;
}

/**
 * The sliding-window-log decision for events at `timestamps` (ascending, ms),
 * if one more happens at `now`. Exact: an event is allowed only if every window
 * holds fewer than `limit` events in (now - windowMs, now]. `counted`: this
 * event is already in `timestamps`. The Redis Lua script
 * (src/adapters/store/redis/lua/lib/window.lua) mirrors this line by line.
 */
export function decideRaw(
  timestamps: readonly number[],
  now: number,
  windows: readonly Window[],
  counted = false,
): RawDecision {
  const n = timestamps.length;
  let denied: Denial | undefined;
  let tightest: Tightest | undefined;
  let nextMs = 0;
  windows.forEach((window, index) => {
    const inWindow = n - firstAfter(timestamps, now - window.windowMs);
    if (inWindow >= window.limit) {
      // The slot frees when the event `limit` places from the newest leaves the window.
      const waitMs = (timestamps[n - window.limit] ?? now) + window.windowMs - now;
      if (!denied || waitMs > denied.waitMs) denied = { index, waitMs };
      return;
    }
    const remaining = window.limit - inWindow - 1;
    // With no event in the window (inWindow 0) the index is past the end: the window starts now.
    const oldest = timestamps[n - inWindow] ?? now;
    if (!tightest || remaining < tightest.remaining) {
      tightest = { index, remaining, resetMs: oldest + window.windowMs - now };
    }
    // With this event recorded the window is full until its `limit`-th newest event leaves
    // (this event itself when the limit is 1: the index is then past the end).
    if (remaining === 0) {
      nextMs = Math.max(nextMs, (timestamps[n - window.limit + 1] ?? now) + window.windowMs - now);
    }
  });
  return settle(denied, tightest, nextMs, counted);
}

type Denial = { index: number; waitMs: number };
type Tightest = { index: number; remaining: number; resetMs: number };

/** decideRaw's answer once every window is read: the latest-freeing denial, else the tightest window. */
function settle(
  denied: Denial | undefined,
  tightest: Tightest | undefined,
  nextMs: number,
  counted: boolean,
): RawDecision {
  // An event already in the log (a retry with the same idempotency key) passes
  // without being counted again; the next new event waits for the full windows.
  if (denied) {
    const { index, waitMs } = denied;
    return counted
      ? { allowed: true, index, remaining: 0, waitMs, nextMs: waitMs, recorded: false }
      : { allowed: false, index, remaining: 0, waitMs, nextMs: 0, recorded: false };
  }
  // Every window either denies or is the tightest so far: only a policy without windows gets here.
  if (!tightest) throw new Error("decideRaw: a rate policy needs at least one window");
  return {
    allowed: true,
    index: tightest.index,
    remaining: tightest.remaining,
    waitMs: tightest.resetMs,
    nextMs: counted ? 0 : nextMs,
    recorded: !counted,
  };
}

/** Index of the first timestamp greater than `cutoff` (binary search: O(log n) per window). */
function firstAfter(timestamps: readonly number[], cutoff: number): number {
  let lo = 0;
  let hi = timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((timestamps[mid] ?? cutoff) > cutoff) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function toDecision(windows: readonly Window[], raw: RawDecision): RateDecision {
  const window = windows[raw.index];
  if (!window) throw new Error(`toDecision: no window ${raw.index} in this policy`);
  // Whole seconds, rounded up; the epsilon absorbs float noise from a fractional clock (60000.0000001 ms is 60 s).
  const toSeconds = (ms: number) => Math.ceil(ms / 1000 - 1e-9);
  const seconds = Math.max(1, toSeconds(raw.waitMs));
  return {
    allowed: raw.allowed,
    limit: window.limit,
    remaining: raw.remaining,
    resetSeconds: seconds,
    retryAfterSeconds: raw.allowed ? 0 : seconds,
    nextAllowedSeconds: raw.allowed ? toSeconds(raw.nextMs) : seconds,
    policy: window.label,
    recorded: raw.recorded,
  };
}

export function decide(
  timestamps: readonly number[],
  now: number,
  windows: readonly Window[],
  counted = false,
): RateDecision {
  return toDecision(windows, decideRaw(timestamps, now, windows, counted));
}
