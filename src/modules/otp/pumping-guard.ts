import type { Admission, GuardCounts, PumpCheck } from "../../adapters/store/port";
import { rangeOf, shownPrefix } from "../../domain/number-ranges";
import type { MobileNumber } from "../../domain/phone";
import {
  CountryWatch,
  numberPrefix,
  type PumpingPolicy,
  type PumpVerdict,
  safeListed,
} from "../../domain/pumping";
import { formatDuration } from "../../lib/duration";
import type { Logger } from "../../observability/logger";
import type { Metrics } from "../../observability/metrics";

/**
 * The conversion-driven pumping guard: the gateway sees both halves of every
 * OTP, the send and the successful verify, so a number prefix whose codes are
 * sent but not verified is blocked for a while (PUMPING_*). It needs the app to
 * verify through the gateway: codes checked elsewhere look like pumping.
 *
 * The store judges a send in its admission step (src/adapters/store); the guard
 * says what to check, reads the verdict (log lines, metrics) and counts what the
 * check does not: sends it let through uncounted, and verified codes.
 */
export class PumpingGuard {
  readonly #countries: CountryWatch;

  constructor(
    private readonly deps: { store: GuardCounts; policy: PumpingPolicy; logger: Logger; metrics: Metrics },
  ) {
    this.#countries = new CountryWatch(deps.policy);
  }

  /**
   * What the store checks of a send to this number: its block, judged by the policy of now (a
   * country under attack has its blocks judged on fewer sends); nothing with the guard off or for
   * a number on the environment's safe list.
   */
  check(mobile: MobileNumber): PumpCheck | undefined {
    const { policy } = this.deps;
    if (policy.mode === "off" || safeListed(policy, mobile.e164)) return undefined;
    return {
      prefix: numberPrefix(mobile.e164, policy.dropDigits),
      policy: this.#countries.policyFor(mobile.country ?? "unknown"),
    };
  }

  /** The store's verdict on a send: a block started is logged; a refusal, or one monitor mode let through, counted. */
  observe(mobile: MobileNumber, check: PumpCheck, verdict: PumpVerdict): void {
    const { policy, logger, metrics } = this.deps;
    if (verdict.state === "clear") return;
    const enforced = policy.mode === "enforce";
    if (verdict.state === "newly_blocked") {
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
    metrics.pumping(mobile.country ?? "unknown", enforced ? "refused" : "monitored");
  }

  /**
   * A send went out: counted for its country's conversion, and for its block where the
   * admission's check did not count it (safe-listed, or let through by monitor mode). A retry
   * of a keyed send counts nothing: its first attempt did.
   */
  async sent(mobile: MobileNumber, admission: Extract<Admission, { kind: "admitted" }>): Promise<void> {
    if (admission.retry) return;
    const country = mobile.country ?? "unknown";
    this.deps.metrics.pumping(country, "sent");
    if (this.deps.policy.mode === "off") return;
    this.#countries.count(country, "sent");
    if (admission.verdict?.counted === undefined) await this.#count(mobile.e164, "sent");
  }

  /** Counts a verified code; a failure is logged, never the caller's problem. */
  async verified(mobile: MobileNumber): Promise<void> {
    this.deps.metrics.pumping(mobile.country ?? "unknown", "verified");
    if (this.deps.policy.mode === "off") return;
    this.#countries.count(mobile.country ?? "unknown", "verified");
    await this.#count(mobile.e164, "verified");
  }

  async #count(phone: string, kind: "sent" | "verified"): Promise<void> {
    const { store, policy, logger } = this.deps;
    const check = { prefix: numberPrefix(phone, policy.dropDigits), policy };
    try {
      await (kind === "sent" ? store.countSent(check) : store.countVerified(check));
    } catch (err) {
      logger.warn("pumping guard: could not count", {
        kind,
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
