import type { BudgetDecision, SendBudget } from "../../domain/send-budget";
import { GatewayError } from "../../errors";
import type { Logger } from "../../observability/logger";
import type { Metrics } from "../../observability/metrics";

/**
 * The send budgets (SEND_BUDGETS): what a gateway may spend, whoever asks. A send
 * draws on the `*` budget and on its country's; the store counts both in the
 * send's admission step and takes them back when the send surely did not go out.
 * The guard says which budgets a send draws on and reads their decisions:
 * their use as metrics, and the alert when one refuses.
 */
export class SpendGuard {
  /** When each budget window last raised its alert: once per window length, per process. */
  readonly #alerted = new Map<string, number>();

  constructor(private readonly deps: { budgets: readonly SendBudget[]; logger: Logger; metrics: Metrics }) {}

  /** The budgets a send to `country` draws on: `*` and its country's (none: nothing to count). */
  budgetsFor(country: string | undefined): readonly SendBudget[] {
    return this.deps.budgets.filter((b) => b.scope === "*" || b.scope === country);
  }

  /** An admitted send's budgets (in `budgets`' order; none asked for a retry): their use as metrics. */
  admitted(budgets: readonly SendBudget[], decisions: readonly BudgetDecision[] = []): void {
    this.#observe(budgets, decisions);
  }

  /** A send a budget refused: the use as metrics, the alert, and the answer (503 with Retry-After, nothing sent). */
  refused(budgets: readonly SendBudget[], decisions: readonly BudgetDecision[]): GatewayError {
    this.#observe(budgets, decisions);
    const index = decisions.findIndex((d) => !d.allowed);
    const [budget, decision] = [budgets[index], decisions[index]];
    if (budget && decision) this.#alert(budget, decision);
    const waitMs = decision?.waitMs ?? 1_000;
    return new GatewayError("SEND_BUDGET_EXHAUSTED", {
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    });
  }

  #observe(budgets: readonly SendBudget[], decisions: readonly BudgetDecision[]): void {
    for (const [i, decision] of decisions.entries()) {
      const budget = budgets[i];
      if (!budget) continue;
      for (const [k, w] of budget.windows.entries()) {
        this.deps.metrics.budget(budget.scope, w.label, decision.used[k] ?? 0, w.limit);
      }
    }
  }

  /** The error-level line an operator alerts on, once per window length. */
  #alert(budget: SendBudget, decision: BudgetDecision): void {
    const window = budget.windows[decision.index];
    if (!window) return;
    const key = `${budget.scope} ${window.label}`;
    const now = Date.now();
    if ((this.#alerted.get(key) ?? 0) > now) return;
    this.#alerted.set(key, now + window.windowMs);
    this.deps.logger.error("send budget exhausted: sends are refused until it frees", {
      budget: budget.scope,
      window: window.label,
      retryAfterSeconds: Math.ceil(decision.waitMs / 1000),
    });
  }
}
