import { parseTrustProxy, type TrustProxy } from "../../src/domain/client-ip";
import { parseLimits, type Window } from "../../src/domain/rate-window";
import { parseBudgets, type SendBudget } from "../../src/domain/send-budget";

/**
 * What a test takes as given: a value it cannot go on without, and settings it writes as text.
 * A missing value or a mistyped setting fails the test here, saying what was missing, instead
 * of as a TypeError further on.
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, got ${value}`);
  return value;
}

/** Rate limits as the settings write them (`2/10s,4/1m`). */
export const limitsOf = (text: string): Window[] => must(parseLimits(text), `rate limits, not "${text}"`);

/** The one budget of a SEND_BUDGETS text (`*=5/1h`). */
export const budgetOf = (text: string): SendBudget => must(parseBudgets(text)?.[0], `a budget in "${text}"`);

/** TRUST_PROXY as the settings write it (`1`, `10.0.0.0/8`). */
export const trustOf = (text: string): TrustProxy =>
  must(parseTrustProxy(text), `a TRUST_PROXY, not "${text}"`);
