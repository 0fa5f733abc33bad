import type { OtpStore } from "../../adapters/store/interface";
import { GatewayError } from "../../errors";
import type { Logger } from "../../lib/logger";
import type { Metrics } from "../../lib/metrics";
import type { BudgetDecision, SendBudget } from "../../lib/send-budget";

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
 * A send draws on the `*` budget and on its country's; both are reserved
 * together (no extra round trip) and taken back when either refuses or the
 * send surely did not go out.
 */
export class SpendGuard {
  /** When each budget window last raised its alert: once per window length, per process. */
  readonly #alerted = new Map<string, number>();

  constructor(private readonly deps: { store: OtpStore; budgets: readonly SendBudget[]; logger: Logger; metrics: Metrics }) {}

  /** Whether any budget applies to a send to `country` (none: nothing to reserve, no store call). */
  appliesTo(country: string | undefined): boolean {
    return this.deps.budgets.some((b) => b.scope === "*" || b.scope === country);
  }

  async reserve(country: string | undefined): Promise<Reservation> {
    const { store, budgets, metrics } = this.deps;
    const applicable = budgets.filter((b) => b.scope === "*" || b.scope === country);
    const results = await Promise.allSettled(applicable.map((b) => store.reserveBudget(b)));
    const held: [SendBudget, string][] = [];
    let denied: Reservation["denied"];
    let failure: unknown;
    for (const [i, result] of results.entries()) {
      const budget = applicable[i]!;
      if (result.status === "rejected") {
        failure ??= result.reason;
        continue;
      }
      for (const [k, w] of budget.windows.entries()) metrics.budget(budget.scope, w.label, result.value.used[k] ?? 0, w.limit);
      if (result.value.allowed) held.push([budget, result.value.receipt]);
      else denied ??= { budget, decision: result.value };
    }
    const refund = async () => {
      await Promise.all(held.map(([budget, receipt]) => store.refundBudget(budget, receipt).catch(() => undefined)));
    };
    if (failure !== undefined || denied) await refund();
    if (failure !== undefined) throw failure;
    if (denied) this.#alert(denied.budget, denied.decision);
    return { denied, refund };
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
