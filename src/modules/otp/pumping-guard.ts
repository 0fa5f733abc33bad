import type { OtpStore } from "../../adapters/store/interface";
import { formatDuration } from "../../lib/duration";
import type { Logger } from "../../lib/logger";
import type { Metrics } from "../../lib/metrics";
import type { MobileNumber } from "../../lib/phone";
import { CountryWatch, numberPrefix, type PumpingPolicy, safeListed } from "../../lib/pumping";

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

  /** The prefix as it may be logged: the dropped digits as `*`, never a full number. */
  #shown(prefix: string): string {
    return `${prefix}${"*".repeat(this.deps.policy.dropDigits)}`;
  }

  /** Whether a send may go: false only in enforce mode, for a blocked prefix. */
  async allows(mobile: MobileNumber): Promise<boolean> {
    const { store, policy, logger, metrics } = this.deps;
    if (policy.mode === "off" || safeListed(policy, mobile.e164)) return true;
    const prefix = numberPrefix(mobile.e164, policy.dropDigits);
    // A country under attack has its prefixes judged on fewer sends.
    const verdict = await store.pumpCheck(prefix, mobile.e164, this.#countries.policyFor(mobile.country ?? "unknown"));
    if (verdict.state === "clear") return true;
    const enforced = policy.mode === "enforce";
    if (verdict.state === "newly_blocked") {
      logger.warn(enforced ? "pumping guard: number prefix blocked" : "pumping guard (monitor): number prefix would be blocked", {
        prefix: this.#shown(prefix),
        country: mobile.country ?? "unknown",
        for: formatDuration(verdict.remainingMs),
        strikes: verdict.strikes,
      });
    }
    metrics.pumping(mobile.country ?? "unknown", enforced ? "refused" : "monitored");
    return !enforced;
  }

  /** Counts a send that went out, or a verified code; a failure is logged, never the caller's problem. */
  async record(mobile: MobileNumber, kind: "sent" | "verified"): Promise<void> {
    const { store, policy, logger, metrics } = this.deps;
    metrics.pumping(mobile.country ?? "unknown", kind);
    if (policy.mode === "off") return;
    this.#countries.count(mobile.country ?? "unknown", kind);
    const phone = mobile.e164;
    try {
      await store.pumpRecord(numberPrefix(phone, policy.dropDigits), kind, policy);
    } catch (err) {
      logger.warn("pumping guard: could not count", { kind, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
