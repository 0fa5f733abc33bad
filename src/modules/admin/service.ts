import type { GuardAdminStore, SafeEntry } from "../../adapters/store/port";
import { maskPhone } from "../../domain/mask";
import { shownPrefix } from "../../domain/number-ranges";
import { isNumberBlock } from "../../domain/phone";
import { numberPrefix, type PumpingPolicy, type UnprovenBounds } from "../../domain/pumping";
import { openLimit, type SendBudget } from "../../domain/send-budget";
import type { TestNumber } from "../../domain/test-numbers";
import { GatewayError } from "../../errors";
import type { Logger } from "../../observability/logger";
import { requireMobile } from "../otp/phone";
import type { GuardState } from "./model";

/**
 * What an operator may see and change of the spend guard. Every change is
 * logged with what changed; a number only masked.
 */
export class AdminService {
  constructor(
    private readonly deps: {
      store: GuardAdminStore;
      budgets: readonly SendBudget[];
      pumping: PumpingPolicy;
      /** The bounds on unproven sends (absent: none). */
      unproven?: UnprovenBounds;
      /** TEST_PHONES: their windows are keyed by the number as listed, mobile or not. */
      testNumbers: ReadonlyMap<string, TestNumber>;
      logger: Logger;
    },
  ) {}

  async state(): Promise<GuardState> {
    const { store, budgets, pumping, unproven } = this.deps;
    const [blocks, bounded, uses] = await Promise.all([
      store.blocks(),
      unproven && pumping.mode !== "off" ? store.bounded(unproven) : [],
      Promise.all(budgets.map((b) => store.budgetUse(b))),
    ]);
    return {
      pumpingGuard: pumping.mode,
      blocks: blocks.map((b) => ({
        prefix: b.prefix,
        range: b.range,
        remainingSeconds: Math.ceil(b.remainingMs / 1000),
        strikes: b.strikes,
      })),
      bounded: bounded.map((b) => ({
        ...b,
        bound: unproven ? (b.range ? unproven.range : unproven.block) : 0,
      })),
      budgets: budgets.flatMap((budget, i) =>
        budget.windows.map((w, k) => {
          const used = uses[i]?.used[k] ?? 0;
          return {
            budget: budget.scope,
            window: w.label,
            limit: w.limit,
            used,
            remaining: Math.max(0, w.limit - used),
            openRemaining: Math.max(0, openLimit(w.limit, budget.reserve) - used),
          };
        }),
      ),
    };
  }

  /** Lifts a block's block, or a range's; a string that reads as both lifts both. */
  async liftBlock(prefix: string, log = this.deps.logger): Promise<boolean> {
    const { dropDigits, rangeDropDigits } = this.deps.pumping;
    const block = isNumberBlock(prefix, dropDigits);
    const range = rangeDropDigits > dropDigits && isNumberBlock(prefix, rangeDropDigits);
    if (!block && !range) this.#block(prefix);
    const lifted = await Promise.all([
      block && this.deps.store.liftBlock(prefix),
      range && this.deps.store.liftRange(prefix),
    ]);
    const shown = shownPrefix(prefix, block ? dropDigits : rangeDropDigits);
    log.warn("admin: pumping block lifted", {
      prefix: shown,
      wasBlocked: lifted.includes(true),
    });
    return lifted.includes(true);
  }

  /** A prefix as the guard keys it (a number less PUMPING_PREFIX_DROP digits), or 400: anything else would match nothing. */
  #block(prefix: string): string {
    const { dropDigits: drop, rangeDropDigits: range } = this.deps.pumping;
    if (!isNumberBlock(prefix, drop)) {
      const ranges =
        range > drop ? ` (or, to lift a range's block, its last ${range}: PUMPING_RANGE_DROP)` : "";
      throw new GatewayError("INVALID_REQUEST", {
        detail: `Not a number block: give a number without its last ${drop} digits (PUMPING_PREFIX_DROP)${ranges}.`,
      });
    }
    return prefix;
  }

  /** The prefix as it is logged: its dropped digits as `*`. */
  #shown(prefix: string): string {
    return shownPrefix(prefix, this.deps.pumping.dropDigits);
  }

  /** Never blocks a whole prefix, or one number (a valid mobile). */
  async addToSafeList(entry: { prefix: string } | { number: string }, log = this.deps.logger): Promise<true> {
    await this.deps.store.addToSafeList(this.#safeEntry(entry));
    log.warn("admin: safe-list entry added", this.#shownEntry(entry));
    return true;
  }

  async removeFromSafeList(
    entry: { prefix: string } | { number: string },
    log = this.deps.logger,
  ): Promise<true> {
    await this.deps.store.removeFromSafeList(this.#safeEntry(entry));
    log.warn("admin: safe-list entry removed", this.#shownEntry(entry));
    return true;
  }

  /** A prefix as the guard keys it, or a number as the mobile it is with its block. */
  #safeEntry(entry: { prefix: string } | { number: string }): SafeEntry {
    if ("prefix" in entry) return { prefix: this.#block(entry.prefix) };
    const mobile = requireMobile(entry.number);
    return { prefix: numberPrefix(mobile.e164, this.deps.pumping.dropDigits), number: mobile.e164 };
  }

  /** What the log line may show of an entry: a prefix with its dropped digits as `*`, a number masked. */
  #shownEntry(entry: { prefix: string } | { number: string }): Record<string, string> {
    if ("prefix" in entry) return { prefix: this.#shown(entry.prefix) };
    const mobile = requireMobile(entry.number);
    return { number: maskPhone(mobile.e164, mobile.callingCode) };
  }

  /** The support desk's "my user is locked out": forgets one phone's send and verify windows. */
  async clearPhone(phone: string, log = this.deps.logger): Promise<true> {
    const { key, callingCode } = this.#windowsKey(phone);
    await this.deps.store.clearPhone(key);
    log.warn("admin: phone windows cleared", { phone: maskPhone(key, callingCode) });
    return true;
  }

  /**
   * A number as the gateway keys its windows: a configured test number as listed (a reviewer's
   * `+15555550100` is no mobile, but its wrong guesses fill a verify window all the same; past
   * its last day too, while that window lasts), any other as the mobile it is, or INVALID_PHONE.
   */
  #windowsKey(phone: string): { key: string; callingCode?: string } {
    if (this.deps.testNumbers.has(phone)) return { key: phone };
    const mobile = requireMobile(phone);
    return { key: mobile.e164, callingCode: mobile.callingCode };
  }
}
