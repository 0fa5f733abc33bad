import { type BudgetDecision, budgetDecision, type SendBudget } from "../../../domain/send-budget";

/** The send budgets for the memory store: the same semantics as budget_check (src/adapters/store/redis/lua/lib/budget.lua). */
export class MemoryBudgets {
  /** Per budget scope, per window: bucket index -> sends. Few scopes, at most ~61 buckets each. */
  readonly #counts = new Map<string, Map<number, number>[]>();

  constructor(private readonly now: () => number) {}

  /**
   * A budget's decision for one more send now (stale buckets dropped), and how to record it; a send
   * that is not `proven` may use only the open share.
   */
  check(budget: SendBudget, proven = true): { decision: BudgetDecision; record(): void } {
    const counts = this.#counts.get(budget.scope) ?? budget.windows.map(() => new Map<number, number>());
    this.#counts.set(budget.scope, counts);
    const now = this.now();
    const decision: BudgetDecision = { ...budgetDecision(counts, now, budget, proven), receipt: "" };
    budget.windows.forEach((w, k) => {
      const first = Math.floor((now - w.windowMs) / w.bucketMs);
      const buckets = bucketsOf(counts, k);
      for (const j of buckets.keys()) if (j < first) buckets.delete(j);
    });
    const record = () => {
      const receipt = budget.windows.map((w, k) => {
        const bucket = Math.floor(now / w.bucketMs);
        const buckets = bucketsOf(counts, k);
        buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
        decision.used[k] = (decision.used[k] ?? 0) + 1;
        return `${k + 1}:${bucket}`;
      });
      decision.receipt = receipt.join(",");
    };
    return { decision, record };
  }

  /** Takes one send back from each bucket of the receipt still there. */
  refund(budget: SendBudget, receipt: string): void {
    const counts = this.#counts.get(budget.scope);
    for (const field of receipt ? receipt.split(",") : []) {
      const [k, bucket] = field.split(":").map(Number) as [number, number];
      const buckets = counts?.[k - 1];
      const count = buckets?.get(bucket) ?? 0;
      if (buckets && count > 0) buckets.set(bucket, count - 1);
    }
  }
}

/** The buckets of a budget's `k`-th window: a scope's counts hold one map per window of its budget. */
function bucketsOf(counts: readonly Map<number, number>[], k: number): Map<number, number> {
  const buckets = counts[k];
  if (!buckets) throw new Error(`memory budgets: no counts for window ${k + 1}`);
  return buckets;
}
