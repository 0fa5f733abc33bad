import type { OtpStore } from "../../adapters/store/port";
import type { BudgetDecision, SendBudget } from "../../domain/send-budget";
import { GatewayError } from "../../errors";
import type { Logger } from "../../observability/logger";
import type { Metrics } from "../../observability/metrics";

/** Sends reserved against every budget a send draws on; `refund` takes them back. */
export interface Reservation {
  /** The budget that refused, when one did (nothing is reserved then). */
  denied?: { budget: SendBudget; decision: BudgetDecision };
  refund(): Promise<void>;
}

/** A send no budget applies to. */
export const NOTHING_RESERVED: Reservation = { refund: async () => {} };

/**
 * The send budgets (SEND_BUDGETS): what a gateway may spend, whoever asks.
 * A send draws on the `*` budget and on its country's; both are reserved in
 * the send's admission step (src/modules/otp/admission.ts) and taken back when
 * the send surely did not go out.
 */
export class SpendGuard {
  /** When each budget window last raised its alert: once per window length, per process. */
  readonly #alerted = new Map<string, number>();

  constructor(private readonly deps: { store: OtpStore; budgets: readonly SendBudget[]; logger: Logger; metrics: Metrics }) {}

  /** The budgets a send to `country` draws on: `*` and its country's (none: nothing to reserve). */
  budgetsFor(country: string | undefined): readonly SendBudget[] {
    return this.deps.budgets.filter((b) => b.scope === "*" || b.scope === country);
  }

  /**
   * The budgets' decisions on one send (the store's admission step asked them,
   * in `budgets`' order; undefined when it did not): their use as metrics, the
   * alert when one refused, and how to take the send back.
   */
  settle(budgets: readonly SendBudget[], decisions: readonly BudgetDecision[] | undefined): Reservation {
    if (!decisions) return NOTHING_RESERVED;
    const { store, metrics } = this.deps;
    let denied: Reservation["denied"];
    for (const [i, decision] of decisions.entries()) {
      const budget = budgets[i]!;
      for (const [k, w] of budget.windows.entries()) metrics.budget(budget.scope, w.label, decision.used[k] ?? 0, w.limit);
      if (!decision.allowed) denied ??= { budget, decision };
    }
    if (denied) {
      this.#alert(denied.budget, denied.decision);
      return { denied, refund: async () => {} };
    }
    return {
      refund: async () => {
        await Promise.all(decisions.map((d, i) => store.refundBudget(budgets[i]!, d.receipt).catch(() => undefined)));
      },
    };
  }

  /** The error-level line an operator alerts on, once per window length. */
  #alert(budget: SendBudget, decision: BudgetDecision): void {
    const window = budget.windows[decision.index]!;
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

/** The answer for a send refused by a budget: 503 with Retry-After, nothing sent. */
export function budgetExhausted(decision: BudgetDecision): GatewayError {
  return new GatewayError("SEND_BUDGET_EXHAUSTED", { retryAfterSeconds: Math.max(1, Math.ceil(decision.waitMs / 1000)) });
}
