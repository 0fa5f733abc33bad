import type { OtpStore } from "../../adapters/store/port";
import { rangeOf, shownPrefix } from "../../domain/number-ranges";
import type { MobileNumber } from "../../domain/phone";
import { CountryWatch, numberPrefix, type PumpingPolicy, type PumpVerdict, safeListed } from "../../domain/pumping";
import { formatDuration } from "../../lib/duration";
import type { Logger } from "../../observability/logger";
import type { Metrics } from "../../observability/metrics";

/**
 * A pumping check's answer for one send: whether it may go (false only in
 * enforce mode, for a blocked prefix). A clear prefix's check counted the send
 * already: `undo` takes it back when the send does not go out; `sent` counts
 * one the check did not.
 */
export interface PumpPass {
  allowed: boolean;
  /** The send did not go out: take back what the check counted. */
  undo(): Promise<void>;
  /** The send went out. */
  sent(): Promise<void>;
}

/**
 * The conversion-driven pumping guard: the gateway sees both halves of every
 * OTP, the send and the successful verify, so a number prefix whose codes are
 * sent but not verified is blocked for a while (PUMPING_*). It needs the app to
 * verify through the gateway: codes checked elsewhere look like pumping.
 */
export class PumpingGuard {
  readonly #countries: CountryWatch;

  constructor(private readonly deps: { store: OtpStore; policy: PumpingPolicy; logger: Logger; metrics: Metrics }) {
    this.#countries = new CountryWatch(deps.policy);
  }

  /** The block or its range as it may be logged: the dropped digits as `*`, never a full number. */
  #shown(prefix: string, range: boolean): string {
    const { dropDigits, rangeDropDigits } = this.deps.policy;
    const wide = range ? rangeOf(prefix, this.deps.policy) : undefined;
    return wide === undefined ? shownPrefix(prefix, dropDigits) : shownPrefix(wide, rangeDropDigits);
  }

  /** Whether a send to this number is judged at all (not with the guard off, nor for the safe list). */
  judges(mobile: MobileNumber): boolean {
    return this.deps.policy.mode !== "off" && !safeListed(this.deps.policy, mobile.e164);
  }

  /** The answer for a number the guard does not judge. */
  passThrough(mobile: MobileNumber): PumpPass {
    return this.#pass(mobile, true);
  }

  /** What the store's check of a judged number needs: its prefix and the policy it is judged by now. */
  plan(mobile: MobileNumber): { prefix: string; policy: PumpingPolicy } {
    // A country under attack has its prefixes judged on fewer sends.
    return {
      prefix: numberPrefix(mobile.e164, this.deps.policy.dropDigits),
      policy: this.#countries.policyFor(mobile.country ?? "unknown"),
    };
  }

  /**
   * The answer for a send from the store's verdict on its prefix (admitSend):
   * logs a new block, counts a refusal; `undefined` (the prefix was not asked,
   * the phone's windows refused first) passes with nothing counted.
   */
  judge(mobile: MobileNumber, prefix: string, verdict: PumpVerdict | undefined): PumpPass {
    const { policy, logger, metrics } = this.deps;
    if (!verdict) return this.#pass(mobile, true);
    if (verdict.state === "clear") return this.#pass(mobile, true, prefix, verdict.counted);
    const enforced = policy.mode === "enforce";
    if (verdict.state === "newly_blocked") {
      const what = verdict.range ? "number range" : "number prefix";
      logger.warn(enforced ? `pumping guard: ${what} blocked` : `pumping guard (monitor): ${what} would be blocked`, {
        prefix: this.#shown(prefix, verdict.range === true),
        country: mobile.country ?? "unknown",
        for: formatDuration(verdict.remainingMs),
        strikes: verdict.strikes,
      });
    }
    metrics.pumping(mobile.country ?? "unknown", enforced ? "refused" : "monitored");
    return this.#pass(mobile, !enforced);
  }

  #pass(mobile: MobileNumber, allowed: boolean, prefix?: string, counted?: number): PumpPass {
    const { store, policy, metrics } = this.deps;
    const country = mobile.country ?? "unknown";
    return {
      allowed,
      undo: async () => {
        if (prefix !== undefined && counted !== undefined) await store.pumpUncount(prefix, counted).catch(() => undefined);
      },
      sent: async () => {
        metrics.pumping(country, "sent");
        if (policy.mode === "off") return;
        this.#countries.count(country, "sent");
        // Safe-listed, or let through by monitor mode: the check did not count it.
        if (counted === undefined) await this.#count(mobile.e164, "sent");
      },
    };
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
    try {
      await store.pumpRecord(numberPrefix(phone, policy.dropDigits), kind, policy);
    } catch (err) {
      logger.warn("pumping guard: could not count", { kind, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
