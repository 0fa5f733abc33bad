import type { Admission, GuardCounts, PumpCheck } from "../../adapters/store/port";
import { rangeOf, shownPrefix } from "../../domain/number-ranges";
import type { MobileNumber } from "../../domain/phone";
import {
  CountryWatch,
  type GuardRule,
  numberPrefix,
  type PumpingPolicy,
  type PumpVerdict,
  safeListed,
  type UnprovenBounds,
} from "../../domain/pumping";
import type { ReturningPolicy } from "../../domain/returning";
import { formatDuration } from "../../lib/duration";
import type { Logger } from "../../observability/logger";
import type { Metrics } from "../../observability/metrics";

/**
 * The pumping guard. The gateway sees both halves of every OTP, the send and the
 * successful verify, and judges a number's block (PUMPING_PREFIX_DROP) and its range
 * (PUMPING_RANGE_DROP) on them, by two rules of different speed:
 *
 * - the bounds on unproven sends (PUMPING_UNPROVEN_*): a block and a range may hold only
 *   so many sends whose codes are not verified yet, in a window; a verified code gives its
 *   own send's place back. They stop an attack on fresh blocks within its first sends.
 * - the conversion judgement: a block or range whose expired codes were mostly not
 *   verified is blocked for hours, doubling on repeat.
 *
 * A returning user (a number that verified lately, RETURNING_USERS) is never refused by
 * either. It needs the app to verify through the gateway: codes checked elsewhere look
 * like pumping.
 *
 * The store applies both in its admission step (src/adapters/store); the guard says what to
 * check, reads the verdict (log lines, metrics) and counts verified codes.
 */
export class PumpingGuard {
  readonly #countries: CountryWatch;

  constructor(
    private readonly deps: {
      store: GuardCounts;
      policy: PumpingPolicy;
      bounds?: UnprovenBounds;
      returning?: ReturningPolicy;
      logger: Logger;
      metrics: Metrics;
    },
  ) {
    this.#countries = new CountryWatch(deps.policy);
  }

  /**
   * What the store checks of a send to this number: its block, judged by the policy of now (a
   * country under attack has its blocks judged on fewer sends), and the bounds on unproven sends;
   * nothing with the guard off or for a number on the environment's safe list.
   */
  check(mobile: MobileNumber): PumpCheck | undefined {
    const { policy, bounds } = this.deps;
    if (policy.mode === "off" || safeListed(policy, mobile.e164)) return undefined;
    return {
      prefix: numberPrefix(mobile.e164, policy.dropDigits),
      policy: this.#countries.policyFor(mobile.country ?? "unknown"),
      bounds,
    };
  }

  /**
   * The store's verdict on a send: a block started is logged; a refusal (by `rule`), or a send
   * monitor mode let through that a rule would have refused, counted by rule.
   */
  observe(mobile: MobileNumber, check: PumpCheck, verdict: PumpVerdict | undefined, rule?: GuardRule): void {
    const { policy, logger, metrics } = this.deps;
    const enforced = policy.mode === "enforce";
    if (verdict?.state === "newly_blocked") {
      const what = verdict.range ? "number range" : "number prefix";
      logger.warn(
        enforced ? `pumping guard: ${what} blocked` : `pumping guard (monitor): ${what} would be blocked`,
        {
          prefix: this.#shown(check.prefix, verdict.range === true),
          country: mobile.country ?? "unknown",
          for: formatDuration(verdict.remainingMs),
          strikes: verdict.strikes,
        },
      );
    }
    if (!rule) return;
    metrics.pumping(mobile.country ?? "unknown", enforced ? "refused" : "monitored");
    metrics.guardRule(rule, enforced ? "refused" : "monitored");
  }

  /** A send went out: counted for its country's conversion. A retry of a keyed send counts nothing: its first attempt did. */
  sent(mobile: MobileNumber, admission: Extract<Admission, { kind: "admitted" }>): void {
    if (admission.retry) return;
    const country = mobile.country ?? "unknown";
    this.deps.metrics.pumping(country, "sent");
    if (this.deps.policy.mode !== "off") this.#countries.count(country, "sent");
  }

  /**
   * A code verified: counted for its block and range, its send's unproven place (`unproven`, the
   * bucket) given back, and its number proven. A failure is logged, never the caller's problem.
   */
  async verified(mobile: MobileNumber, unproven: number | undefined): Promise<void> {
    const { store, policy, returning, logger, metrics } = this.deps;
    const country = mobile.country ?? "unknown";
    metrics.pumping(country, "verified");
    if (policy.mode !== "off") this.#countries.count(country, "verified");
    const pump = this.check(mobile);
    if (!pump && !returning) return;
    try {
      await store.countVerified({
        phone: mobile.e164,
        ...(pump ? { pump: { prefix: pump.prefix, policy } } : {}),
        ...(pump && unproven !== undefined ? { unproven } : {}),
        ...(returning ? { returning } : {}),
      });
    } catch (err) {
      logger.warn("pumping guard: could not count a verified code", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** The block or its range as it may be logged: the dropped digits as `*`, never a full number. */
  #shown(prefix: string, range: boolean): string {
    const { dropDigits, rangeDropDigits } = this.deps.policy;
    const wide = range ? rangeOf(prefix, this.deps.policy) : undefined;
    return wide === undefined ? shownPrefix(prefix, dropDigits) : shownPrefix(wide, rangeDropDigits);
  }
}
