import { createHash } from "node:crypto";
import type { SendOtpResult, SmsProvider, VerifyFailure } from "../../adapters/sms/interface";
import type { OtpStore } from "../../adapters/store/interface";
import { type ErrorCode, GatewayError } from "../../errors";
import type { Logger } from "../../lib/logger";
import { maskPhone } from "../../lib/mask";
import type { Metrics } from "../../lib/metrics";
import type { PumpingPolicy } from "../../lib/pumping";
import type { RatePolicy } from "../../lib/rate-policy";
import type { SendBudget } from "../../lib/send-budget";
import { admit } from "./admission";
import type { SendAnswer, VerifyAnswer } from "./model";
import { requireMobile } from "./phone";
import { PumpingGuard } from "./pumping-guard";
import { SpendGuard } from "./spend";

/** The gateway's own rules around every send and verify. */
export interface OtpPolicy {
  phoneSend: RatePolicy;
  phoneVerify: RatePolicy;
  /** Upper-case ISO 3166 codes; undefined allows every country. */
  allowedCountries?: ReadonlySet<string>;
  /** Verifies per request id, whatever the upstream says. */
  maxAttempts: number;
  /** How long an Idempotency-Key replays its first answer. */
  idempotencyTtlMs: number;
  /** How long an unfinished claim on a key blocks others (the worst upstream wait). */
  idempotencyPendingMs: number;
  /** Ceilings on sends (SEND_BUDGETS); empty: none. */
  sendBudgets: readonly SendBudget[];
  /** The pumping guard (PUMPING_*). */
  pumping: PumpingPolicy;
  /** Estimated price of one SMS by country (`*` for the rest), for the spend metric. */
  smsPrices: ReadonlyMap<string, number>;
  /** Tell the caller why a verify failed. Off by default: one generic answer leaks less. */
  exposeReason: boolean;
}

export interface OtpServiceDeps {
  provider: SmsProvider;
  store: OtpStore;
  policy: OtpPolicy;
  logger: Logger;
  metrics: Metrics;
}

export interface SendOutcome {
  answer: SendAnswer;
  /** Masked, for the request log. */
  maskedPhone: string;
  replayed: boolean;
}

/** Failures after which the upstream surely sent nothing: the send is not counted. */
const NOTHING_SENT: ReadonlySet<ErrorCode> = new Set([
  "INVALID_PHONE",
  "UNSUPPORTED_COUNTRY",
  "GATEWAY_MISCONFIGURED",
  "PROVIDER_UNAVAILABLE",
  "RATE_LIMITED",
  "IDEMPOTENCY_CONFLICT",
]);

/** Sending and verifying codes, free of HTTP: the controller maps errors to answers. */
export class OtpService {
  readonly #guards: Parameters<typeof admit>[0];

  constructor(private readonly deps: OtpServiceDeps) {
    const { store, policy, logger, metrics } = deps;
    this.#guards = {
      store,
      phoneSend: policy.phoneSend,
      spend: new SpendGuard({ store, budgets: policy.sendBudgets, logger, metrics }),
      pumping: new PumpingGuard({ store, policy: policy.pumping, logger, metrics }),
    };
  }

  /**
   * @param idempotencyKey the caller's Idempotency-Key, if any
   * @param caller who is asking (a caller-key id), so one caller cannot replay another's key
   */
  async send(phone: string, idempotencyKey: string | undefined, caller?: string): Promise<SendOutcome> {
    const { store, provider, policy } = this.deps;
    const mobile = requireMobile(phone); // INVALID_PHONE before anything is spent
    const maskedPhone = maskPhone(mobile.e164, mobile.callingCode);
    if (policy.allowedCountries && !policy.allowedCountries.has(mobile.country ?? "")) {
      throw new GatewayError("COUNTRY_NOT_ALLOWED", { detail: "This gateway does not send to that country." });
    }

    if (idempotencyKey && caller) idempotencyKey = createHash("sha256").update(`${caller}\0${idempotencyKey}`).digest("hex");
    if (idempotencyKey) {
      const claim = await store.claimIdempotency(idempotencyKey, mobile.e164, policy.idempotencyPendingMs);
      if (claim.state === "conflict")
        throw new GatewayError("IDEMPOTENCY_CONFLICT", { detail: "This Idempotency-Key was used for another phone number." });
      if (claim.state === "pending") throw new GatewayError("IDEMPOTENCY_IN_PROGRESS");
      if (claim.state === "done") return { answer: JSON.parse(claim.answer) as SendAnswer, maskedPhone, replayed: true };
    }

    // With a key, the event is named after it: a retry of a send that timed out is
    // not counted (or refused) a second time, and the upstream dedups the SMS.
    const event = idempotencyKey ? `idem:${idempotencyKey}` : crypto.randomUUID();
    try {
      const { decision, reservation, pumping } = await admit(this.#guards, mobile, event);
      let sent: SendOtpResult;
      try {
        sent = await provider.send({ phone: mobile.e164, idempotencyKey: idempotencyKey ?? event });
      } catch (err) {
        // Only what surely went nowhere is taken back; a timeout may still have sent an SMS.
        if (err instanceof GatewayError && NOTHING_SENT.has(err.code) && !err.mayHaveSent) {
          await Promise.all([store.unhit(mobile.e164, "send", event), reservation.refund(), pumping.undo()]);
        }
        throw err;
      }
      const country = mobile.country ?? "*";
      this.deps.metrics.spend(country, policy.smsPrices.get(country) ?? policy.smsPrices.get("*") ?? 0);
      const answer: SendAnswer = {
        requestId: sent.requestId,
        expiresAt: sent.expiresAt.toISOString(),
        attemptsLeft: Math.min(sent.attemptsLeft, policy.maxAttempts),
        resendAfter: decision.nextAllowedSeconds,
      };
      const recorded = this.#afterSend(async () => {
        await store.saveVerification(sent.requestId, mobile.e164, Math.max(sent.expiresAt.getTime() - Date.now(), 1_000));
        if (idempotencyKey)
          await store.completeIdempotency(idempotencyKey, mobile.e164, JSON.stringify(answer), policy.idempotencyTtlMs);
      });
      await Promise.all([recorded, pumping.sent()]);
      return { answer, maskedPhone, replayed: false };
    } catch (err) {
      if (idempotencyKey) await store.releaseIdempotency(idempotencyKey).catch(() => undefined);
      throw err;
    }
  }

  async verify(requestId: string, code: string): Promise<VerifyAnswer> {
    const { store, provider, policy } = this.deps;
    // Only ids this gateway issued (and that have not expired) reach the upstream.
    const phone = await store.verificationPhone(requestId);
    if (!phone) return this.#refuse(requestId, "unknown");
    // The attempt first, then the phone's window: only an attempt that goes to the upstream is
    // charged to the phone, so junk verifies of a spent or exhausted id cannot lock its owner out.
    const begun = await store.beginVerify(requestId, policy.maxAttempts);
    if (begun !== "ok") return this.#refuse(requestId, begun === "used" ? "unknown" : begun);
    const decision = await store.hit(phone, "verify", policy.phoneVerify, crypto.randomUUID());
    if (!decision.allowed) {
      await store.refundAttempt(requestId).catch(() => undefined); // nothing was checked
      throw GatewayError.rateLimited({ policy: policy.phoneVerify, decision });
    }
    const result = await provider.verify({ requestId, code });
    if (!result.verified) return this.#refuse(requestId, result.reason);
    // The upstream may say yes twice (a race, or no single-use rule); we say it once.
    if (!(await store.claimVerified(requestId))) return this.#refuse(requestId, "unknown");
    // Counted for the pumping guard without waiting: the caller's answer does not depend on it.
    void this.#guards.pumping.verified(requireMobile(phone));
    return { verified: true };
  }

  /**
   * Records what a send produced. The SMS is already out, so one failed write is
   * retried, and a second failure must not say "nothing was sent".
   */
  async #afterSend(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch {
      try {
        await write();
      } catch (err) {
        this.deps.logger.error("a code was sent but could not be recorded", { error: err instanceof Error ? err : String(err) });
        throw new GatewayError("STORE_UNAVAILABLE", {
          detail:
            "The code may have been sent, but the gateway could not record it. " +
            "Retry with the same Idempotency-Key: no second SMS goes out.",
          cause: err,
        });
      }
    }
  }

  #refuse(requestId: string, reason: VerifyFailure): VerifyAnswer {
    this.deps.logger.debug("verify refused", { verificationId: requestId, reason });
    return this.deps.policy.exposeReason ? { verified: false, reason } : { verified: false };
  }
}
