import type { RatePolicy } from "../../../domain/rate-policy";
import { type RateDecision, toDecision } from "../../../domain/rate-window";
import type { BudgetDecision } from "../../../domain/send-budget";

/** How the store's scripts take a policy's numbers and how their replies read: shared by every script's caller. */

const joined = new WeakMap<object, string>();

/** A policy's script arguments as one, joined by commas, worked out once per policy. */
export function packed(owner: { scriptArgs: readonly number[] }): string {
  let s = joined.get(owner);
  if (s === undefined) {
    s = owner.scriptArgs.join(",");
    joined.set(owner, s);
  }
  return s;
}

export function budgetReply(reply: [number, number, number, number, string, ...number[]]): BudgetDecision {
  const [allowed, index, remaining, waitMs, receipt, ...used] = reply;
  return { allowed: allowed === 1, index, remaining, waitMs, receipt, used };
}

/** The first six numbers of a window script's reply: {allowed, index, remaining, waitMs, nextMs, recorded}. */
export function windowDecision(policy: RatePolicy, reply: number[]): RateDecision {
  const [allowed, index, remaining, waitMs, nextMs, recorded] = reply as [number, number, number, number, number, number];
  return toDecision(policy.windows, { allowed: allowed === 1, index, remaining, waitMs, nextMs, recorded: recorded === 1 });
}
