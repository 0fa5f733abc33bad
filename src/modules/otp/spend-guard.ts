import type { PumpingMode } from "../../domain/pumping";
import { type BudgetDecision, openLimit, type SendBudget } from "../../domain/send-budget";
import { GatewayError } from "../../errors";
import type { Logger } from "../../observability/logger";
import type { Metrics, RefusalRule } from "../../observability/metrics";

/**
 * The send budgets (SEND_BUDGETS): what a gateway may spend, whoever asks. A send
 * draws on the `*` budget and on its country's; the store counts both in the
 * send's admission step and takes them back when the send surely did not go out.
 * Each budget keeps a reserve (BUDGET_RESERVE) only returning users' sends may use:
 * an attack of new numbers spends the open share at most, never the whole budget.
 * The guard says which budgets a send draws on and reads their decisions: their
 * use as metrics, and the alerts (the open share spent; the whole budget spent).
 */
export class SpendGuard {
  /** When each alert of each budget window last fired: once per window length, per process. */
  readonly #alerted = new Map<string, number>();
  readonly #open = new WeakMap<SendBudget, readonly number[]>();

  constructor(
    private readonly deps: {
      budgets: readonly SendBudget[];
      /** BUDGET_RESERVE's share, and the mode it runs in (the pumping guard's): enforced, monitored, or off. */
      reserve: { share: number; mode: PumpingMode };
      /** A budget's use as the store holds it (every gateway's sends): read into the gauges at each scrape. */
      budgetUse: (budget: SendBudget) => Promise<BudgetDecision>;
      logger: Logger;
      metrics: Metrics;
    },
  ) {
    deps.metrics.beforeScrape(() => this.#readBudgets());
  }

  /** The budgets a send to `country` draws on: `*` and its country's (none: nothing to count). */
  budgetsFor(country: string | undefined): readonly SendBudget[] {
    return this.deps.budgets.filter((b) => b.scope === "*" || b.scope === country);
  }

  /**
   * An admitted send's budgets (in `budgets`' order; none asked for a retry): the alert when this send used a reserve, or took an open share's last place. In
   * monitor mode, `budget-reserve` when the reserve would have refused this send (it is not proven
   * and went past an open share), counted.
   */
  admitted(
    budgets: readonly SendBudget[],
    decisions: readonly BudgetDecision[] = [],
    proven = false,
  ): "budget-reserve" | undefined {
    const { share, mode } = this.deps.reserve;
    if (share === 0) return undefined;
    let wouldRefuse = false;
    for (let i = 0; i < decisions.length; i++) {
      const [budget, decision] = [budgets[i], decisions[i]];
      if (budget && decision && this.#pastOpenShare(budget, decision) && !proven) wouldRefuse = true;
    }
    if (!wouldRefuse || mode !== "monitor") return undefined;
    this.deps.metrics.guardRule("budget-reserve", "monitored");
    return "budget-reserve";
  }

  /**
   * A send a budget refused: the alert, and the answer (503 with Retry-After,
   * nothing sent). The rule (for metrics and the request line, never the answer): `budget-reserve`
   * when the send is not proven and only the reserve was left, else `budget`.
   */
  refused(
    budgets: readonly SendBudget[],
    decisions: readonly BudgetDecision[],
    proven: boolean,
  ): GatewayError {
    const index = decisions.findIndex((d) => !d.allowed);
    const [budget, decision] = [budgets[index], decisions[index]];
    const window = budget?.windows[decision?.index ?? 0];
    const reserveLeft =
      !proven && window !== undefined && (decision?.used[decision.index] ?? 0) < window.limit;
    const rule: RefusalRule = reserveLeft ? "budget-reserve" : "budget";
    this.deps.metrics.guardRule(rule, "refused");
    if (budget && decision) {
      if (reserveLeft) this.#openShareSpent(budget, decision.index);
      else this.#exhausted(budget, decision);
    }
    const waitMs = decision?.waitMs ?? 1_000;
    return new GatewayError("SEND_BUDGET_EXHAUSTED", {
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      rule,
    });
  }

  /**
   * Every budget's use into the gauges, read from the store when scraped: a process that has seen
   * no send for a while shows every gateway's sends all the same.
   */
  async #readBudgets(): Promise<void> {
    const { budgets, budgetUse } = this.deps;
    this.#observe(budgets, await Promise.all(budgets.map(budgetUse)));
  }

  #observe(budgets: readonly SendBudget[], decisions: readonly BudgetDecision[]): void {
    for (let i = 0; i < decisions.length; i++) {
      const [budget, decision] = [budgets[i], decisions[i]];
      if (!budget || !decision) continue;
      const open = this.#openLimits(budget);
      for (let k = 0; k < budget.windows.length; k++) {
        const w = budget.windows[k];
        if (w) this.deps.metrics.budget(budget.scope, w.label, decision.used[k] ?? 0, w.limit, open[k]);
      }
    }
  }

  /**
   * Whether this send went past an open share of `budget` (its reserve would refuse a new number);
   * the alert when it took an open share's last place, or went past it.
   */
  #pastOpenShare(budget: SendBudget, decision: BudgetDecision): boolean {
    const open = this.#openLimits(budget);
    let past = false;
    for (let k = 0; k < open.length; k++) {
      // `used` counts this send: it took an open share's last place at `open`, went past it above.
      const [used, limit] = [decision.used[k] ?? 0, open[k] ?? 0];
      if (used >= limit) this.#openShareSpent(budget, k);
      if (used > limit) past = true;
    }
    return past;
  }

  /** Each window's open share of `budget` (its limit less the reserve), worked out once per budget. */
  #openLimits(budget: SendBudget): readonly number[] {
    let open = this.#open.get(budget);
    if (!open) {
      open = budget.windows.map((w) => openLimit(w.limit, this.deps.reserve.share));
      this.#open.set(budget, open);
    }
    return open;
  }

  /** The first alert: new numbers are refused from now on, returning users still served from the reserve. */
  #openShareSpent(budget: SendBudget, index: number): void {
    const window = budget.windows[index];
    if (!window) return;
    const { share, mode } = this.deps.reserve;
    this.#once(`open ${budget.scope} ${window.label}`, window.windowMs, () =>
      mode === "monitor"
        ? this.deps.logger.warn("send budget's open share spent (monitor): new numbers would be refused", {
            budget: budget.scope,
            window: window.label,
            reserve: share,
          })
        : this.deps.logger.error("send budget's open share spent: only returning users are served", {
            budget: budget.scope,
            window: window.label,
            reserve: share,
          }),
    );
  }

  /** The error-level line an operator alerts on: every send is refused until the budget frees. */
  #exhausted(budget: SendBudget, decision: BudgetDecision): void {
    const window = budget.windows[decision.index];
    if (!window) return;
    this.#once(`all ${budget.scope} ${window.label}`, window.windowMs, () =>
      this.deps.logger.error("send budget exhausted: sends are refused until it frees", {
        budget: budget.scope,
        window: window.label,
        retryAfterSeconds: Math.ceil(decision.waitMs / 1000),
      }),
    );
  }

  /** Runs `alert` unless it ran for `key` within the last `windowMs`. */
  #once(key: string, windowMs: number, alert: () => void): void {
    const now = Date.now();
    if ((this.#alerted.get(key) ?? 0) > now) return;
    this.#alerted.set(key, now + windowMs);
    alert();
  }
}
