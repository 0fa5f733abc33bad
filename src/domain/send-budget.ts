import { parseDuration } from "../lib/duration";

/** Buckets per budget window: the window is counted in this many slices (memory is flat, not per send). */
export const BUDGET_BUCKETS = 60;

/** One window of a budget: at most `limit` sends in any `windowMs`, counted in buckets of `bucketMs`. */
export interface BudgetWindow {
  limit: number;
  windowMs: number;
  bucketMs: number;
  /** As configured, e.g. `5000/1h`. */
  label: string;
}

/**
 * A ceiling on sends shared by every gateway on one store: overall (`*`) or
 * for one country (ISO code). Built once at start (src/composition-root.ts).
 */
export interface SendBudget {
  scope: string;
  windows: readonly BudgetWindow[];
  /**
   * The share of every window's limit only proven sends may use (BUDGET_RESERVE, 0–1): its
   * returning users' reserve, which an attack of new numbers cannot spend.
   */
  reserve: number;
  /** Limit, open limit, window ms and bucket ms of each window in turn, as the Redis script reads them. */
  scriptArgs: readonly number[];
}

/** What a budget check came to. `used` is per window, this send included when it was reserved. */
export interface BudgetDecision {
  allowed: boolean;
  /** Index of the deciding window: the denying one with the longest wait, or the one with the least left. */
  index: number;
  /** Sends left in the deciding window after this one. */
  remaining: number;
  /** Denied: ms until a send can pass every window. */
  waitMs: number;
  used: number[];
  /** Which buckets this send was counted in, to take it back (the store's `cancel`). Empty when denied. */
  receipt: string;
}

/** `*=20000/24h,IN=5000/1h`: scope `*` (every send) or a country's ISO code, then count/duration. */
export const BUDGETS_PATTERN =
  "^\\s*(off|(\\*|[A-Za-z]{2})=[0-9]+/[0-9]+(ms|s|m|h|d)(\\s*,\\s*(\\*|[A-Za-z]{2})=[0-9]+/[0-9]+(ms|s|m|h|d))*)\\s*$";

/** Parses SEND_BUDGETS into one budget per scope; `off` is none; undefined when malformed. */
export function parseBudgets(text: string): SendBudget[] | undefined {
  if (!new RegExp(BUDGETS_PATTERN).test(text)) return undefined;
  if (text.trim() === "off") return [];
  const byScope = new Map<string, BudgetWindow[]>();
  for (const part of text.split(",")) {
    const [scope, window] = part.trim().split("=") as [string, string];
    const [count, duration] = window.split("/") as [string, string];
    const windowMs = parseDuration(duration);
    const limit = Number(count);
    if (!windowMs || windowMs < 1_000 || !Number.isSafeInteger(limit) || limit < 1 || limit > 100_000_000) {
      return undefined;
    }
    const bucketMs = Math.max(1, Math.floor(windowMs / BUDGET_BUCKETS));
    const key = scope.toUpperCase();
    byScope.set(key, [
      ...(byScope.get(key) ?? []),
      { limit, windowMs, bucketMs, label: `${count}/${duration}` },
    ]);
  }
  return [...byScope].map(([scope, windows]) => sendBudget(scope, windows));
}

export function sendBudget(scope: string, windows: readonly BudgetWindow[], reserve = 0): SendBudget {
  return {
    scope,
    windows,
    reserve,
    scriptArgs: windows.flatMap((w) => [w.limit, openLimit(w.limit, reserve), w.windowMs, w.bucketMs]),
  };
}

/** The shortest window of some budgets (undefined for none): a keyed retry whose first charge is this old is charged again. */
export function shortestWindowMs(budgets: readonly SendBudget[]): number | undefined {
  const windows = budgets.flatMap((b) => b.windows.map((w) => w.windowMs));
  return windows.length ? Math.min(...windows) : undefined;
}

/** The sends of a window's limit that are not proven may use: all but the reserve, one at least. */
export const openLimit = (limit: number, reserve: number) => Math.max(1, Math.floor(limit * (1 - reserve)));

/** A budget with its reserve (BUDGET_RESERVE). */
export const withReserve = (budget: SendBudget, reserve: number) =>
  sendBudget(budget.scope, budget.windows, reserve);

/**
 * The budget decision for one more send at `now` (`used`: the counts before it), from each window's bucket
 * counts (bucket index = floor(t / bucketMs)). Every bucket that overlaps
 * (now - windowMs, now] counts in full, the oldest partial one included, so the
 * count can only be too high: no window of that length ever holds more than the
 * limit. A send that is not `proven` may use only the open limit (the reserve is left
 * to returning users). Mirrored line by line by budget_check (src/adapters/store/redis/lua/lib/budget.lua).
 */
export function budgetDecision(
  counts: readonly Map<number, number>[],
  now: number,
  budget: SendBudget,
  proven = true,
): Omit<BudgetDecision, "receipt"> {
  let denied: { index: number; waitMs: number } | undefined;
  let tightest = { index: 0, remaining: Number.POSITIVE_INFINITY };
  const used: number[] = [];
  budget.windows.forEach((window, index) => {
    const w = proven ? window : { ...window, limit: openLimit(window.limit, budget.reserve) };
    const first = Math.floor((now - w.windowMs) / w.bucketMs);
    const live = [...(counts[index] ?? new Map<number, number>())]
      .filter(([j]) => j >= first)
      .sort((a, b) => a[0] - b[0]);
    const sum = live.reduce((total, [, count]) => total + count, 0);
    used.push(sum);
    if (sum >= w.limit) {
      const waitMs = waitForRoom(w, live, sum, now);
      if (!denied || waitMs > denied.waitMs) denied = { index, waitMs };
    } else if (w.limit - sum - 1 < tightest.remaining) tightest = { index, remaining: w.limit - sum - 1 };
  });
  if (denied) return { allowed: false, index: denied.index, remaining: 0, waitMs: denied.waitMs, used };
  return { allowed: true, index: tightest.index, remaining: tightest.remaining, waitMs: 0, used };
}

/**
 * How long a full window makes a send wait: it passes once enough of the oldest buckets have left the
 * window. `live`: the window's buckets and counts, oldest first, `sum` in all.
 */
function waitForRoom(w: BudgetWindow, live: readonly [number, number][], sum: number, now: number): number {
  let running = sum;
  for (const [j, count] of live) {
    running -= count;
    if (running < w.limit) return (j + 1) * w.bucketMs + w.windowMs - now;
  }
  return w.windowMs;
}
