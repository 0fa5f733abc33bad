import type { RatePolicy } from "../../../domain/rate-policy";
import { type RateDecision, toDecision } from "../../../domain/rate-window";
import type { BudgetDecision } from "../../../domain/send-budget";

/**
 * How the store's scripts take a policy's numbers, and where each value of their
 * replies is: one table of positions per reply, named as the script's header names
 * them in its `Output:` line (test/store/lua.test.ts holds the two equal).
 */

const joined = new WeakMap<object, string>();

/** A policy's script arguments as one, joined by commas, worked out once per policy. */
export function packed(owner: { scriptArgs: readonly number[] }): string {
  let text = joined.get(owner);
  if (text === undefined) {
    text = owner.scriptArgs.join(",");
    joined.set(owner, text);
  }
  return text;
}

/** hit.lua's reply. */
export const HIT_REPLY = { allowed: 0, index: 1, remaining: 2, waitMs: 3, nextMs: 4, recorded: 5 } as const;

/** admit.lua's reply; `budgets`: where the budgets' replies begin, each as BUDGET_REPLY. */
export const ADMIT_REPLY = {
  allowed: 0,
  index: 1,
  remaining: 2,
  waitMs: 3,
  nextMs: 4,
  recorded: 5,
  pumpState: 6,
  pumpRemainingMs: 7,
  pumpStrikes: 8,
  pumpBucket: 9,
  budgetsAsked: 10,
  rangeVerdict: 11,
  claimState: 12,
  claimAnswer: 13,
  proven: 14,
  rule: 15,
  unprovenBucket: 16,
  blockUnproven: 17,
  rangeUnproven: 18,
  recharged: 19,
  budgets: 20,
} as const;

/**
 * admit.lua's reply as values: it comes as one string of them joined by ';' (each read with
 * Number() where it is one), or as an array when it carries a key's stored answer.
 */
export const admitValues = (reply: string | (number | string)[]): (number | string)[] =>
  typeof reply === "string" ? reply.split(";") : reply;

/** budget.lua's reply (and each budget's in admit.lua's); `used`: where the use per window begins. */
export const BUDGET_REPLY = { allowed: 0, index: 1, remaining: 2, waitMs: 3, receipt: 4, used: 5 } as const;

/** begin-verify.lua's reply; the window's numbers only when `limited`. */
export const BEGIN_VERIFY_REPLY = {
  state: 0,
  phone: 1,
  unproven: 2,
  allowed: 3,
  index: 4,
  remaining: 5,
  waitMs: 6,
  nextMs: 7,
} as const;

/** claim-idempotency.lua's reply. */
export const CLAIM_REPLY = { state: 0, answer: 1 } as const;

/** A window decision from a reply whose window values sit at `at` (hit.lua, admit.lua, begin-verify.lua). */
export function windowDecision(
  policy: RatePolicy,
  reply: readonly (number | string)[],
  at = 0,
  recorded = false,
): RateDecision {
  const number = (position: number) => Number(reply[at + position]);
  return toDecision(policy.windows, {
    allowed: number(HIT_REPLY.allowed) === 1,
    index: number(HIT_REPLY.index),
    remaining: number(HIT_REPLY.remaining),
    waitMs: number(HIT_REPLY.waitMs),
    nextMs: number(HIT_REPLY.nextMs),
    recorded,
  });
}

/** A budget's decision (of `windows` windows) from a reply whose budget values sit at `at`. */
export function budgetDecision(
  reply: readonly (number | string)[],
  at = 0,
  windows = reply.length - at - BUDGET_REPLY.used,
): BudgetDecision {
  const number = (position: number) => Number(reply[at + position]);
  return {
    allowed: number(BUDGET_REPLY.allowed) === 1,
    index: number(BUDGET_REPLY.index),
    remaining: number(BUDGET_REPLY.remaining),
    waitMs: number(BUDGET_REPLY.waitMs),
    receipt: String(reply[at + BUDGET_REPLY.receipt]),
    used: reply.slice(at + BUDGET_REPLY.used, at + BUDGET_REPLY.used + windows).map(Number),
  };
}
