import { createHash } from "node:crypto";
import type { SendOtpResult, VerifyFailure } from "../../adapters/sms/port";
import { parseVerificationId, verificationId } from "../../domain/ids";
import { maskPhone } from "../../domain/mask";
import type { MobileNumber } from "../../domain/phone";
import { GatewayError } from "../../errors";
import { type Admitted, admit } from "./admission";
import { claimedBefore, type KeyClaim, withKey } from "./key-claim";
import type { SendAnswer } from "./model";
import { requireMobile } from "./phone";
import { NOTHING_SENT, type OtpServiceDeps, type SendOutcome, type VerifyOutcome } from "./policy";
import { PumpingGuard } from "./pumping-guard";
import { SpendGuard } from "./spend-guard";
import { TEST_ID_PREFIX, TestNumbers } from "./test-numbers";

/** Sending and verifying codes, free of HTTP: the controller maps errors to answers. */
export class OtpService {
  readonly #guards: Parameters<typeof admit>[0];

  readonly #tests: TestNumbers;

  constructor(private readonly deps: OtpServiceDeps) {
    const { store, policy, logger, metrics } = deps;
    this.#tests = new TestNumbers(policy.testNumbers, { ttlMs: policy.otpTtlMs, maxAttempts: policy.maxAttempts });
    this.#guards = {
      store,
      phoneSend: policy.phoneSend,
      spend: new SpendGuard({ store, budgets: policy.sendBudgets, logger, metrics }),
      pumping: new PumpingGuard({ store, policy: policy.pumping, logger, metrics }),
    };
  }

  /**
   * @param idempotencyKey the caller's Idempotency-Key, if any
   * @param from.caller who is asking (a caller-key id), so one caller cannot replay another's key
   * @param from.connection aborted when the caller's connection closes: no SMS is paid for then
   */
  async send(
    phone: string,
    idempotencyKey: string | undefined,
    from: { caller?: string; connection?: AbortSignal } = {},
  ): Promise<SendOutcome> {
    const { caller } = from;
    const { store, policy } = this.deps;
    const { mobile, subject } = this.#recipient(phone); // INVALID_PHONE before anything is spent
    const maskedPhone = maskPhone(phone, mobile?.callingCode);
    if (mobile && policy.allowedCountries && !policy.allowedCountries.has(mobile.country ?? "")) {
      throw new GatewayError("COUNTRY_NOT_ALLOWED", { detail: "This gateway does not send to that country." });
    }

    if (idempotencyKey && caller) idempotencyKey = createHash("sha256").update(`${caller}\0${idempotencyKey}`).digest("hex");
    // No round trip once the store's secret is read (the first send after start or a reconnect reads it).
    const tag = await store.phoneTag(subject);
    // With a key, the event is named after it: a retry of a send that timed out is
    // not counted (or refused) a second time, and the upstream dedups the SMS.
    const event = idempotencyKey ? `idem:${idempotencyKey}` : crypto.randomUUID();
    const claim: KeyClaim | undefined = idempotencyKey
      ? { key: idempotencyKey, pendingMs: policy.idempotencyPendingMs }
      : undefined;
    // One store step before the upstream: the key's claim and every check of the send, atomic
    // on the phone's slot (a duplicate sees the claim and checks nothing), and beside it the
    // key's binding to one phone, on the key's own slot.
    const admitted = await withKey(store, claim, subject, async () => {
      if (mobile) return admit(this.#guards, mobile, event, claim);
      const claimed = claim && (await store.claimIdempotency(claim.key, subject, claim.pendingMs));
      return claimed && claimed.state !== "new" ? { claimedBefore: claimed } : undefined;
    });
    if (admitted && "claimedBefore" in admitted) return claimedBefore(admitted.claimedBefore, maskedPhone);

    try {
      const { sent, resendAfter, afterRecord } = admitted
        ? await this.#sendSms(mobile!, admitted, idempotencyKey ?? event, from.connection)
        : { sent: this.#tests.send(), resendAfter: 0, afterRecord: undefined };
      const id = { tag, inner: sent.requestId };
      const answer: SendAnswer = {
        requestId: verificationId(id),
        expiresAt: sent.expiresAt.toISOString(),
        attemptsLeft: Math.min(sent.attemptsLeft, policy.maxAttempts),
        resendAfter,
      };
      // The verification record and the key's answer together: one store step after the upstream.
      const recorded = this.#afterSend(
        () =>
          Promise.all([
            store.saveVerification(id, subject, Math.max(sent.expiresAt.getTime() - Date.now(), 1_000)),
            idempotencyKey
              ? store.completeIdempotency(idempotencyKey, subject, JSON.stringify(answer), policy.idempotencyTtlMs)
              : undefined,
          ]),
        // The key's answer may have been stored without its record: forget it, so that a retry
        // with the key sends again (the upstream dedups it) and records the id this time.
        idempotencyKey ? () => store.releaseIdempotency(idempotencyKey, subject, true) : undefined,
      );
      await Promise.all([recorded, afterRecord?.()]);
      return { answer, maskedPhone, replayed: false, test: !mobile };
    } catch (err) {
      if (idempotencyKey) await store.releaseIdempotency(idempotencyKey, subject).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Who a send goes to, as the gateway keys it (two spellings of one number are one number): a
   * test number as listed, found as written (it need not be a real mobile) or as the mobile it is;
   * any other number must be a mobile.
   */
  #recipient(phone: string): { mobile?: MobileNumber; subject: string } {
    if (this.#tests.active(phone)) return { subject: phone };
    const mobile = requireMobile(phone);
    return this.#tests.active(mobile.e164) ? { subject: mobile.e164 } : { mobile, subject: mobile.e164 };
  }

  /** A real SMS: the checks before it (admission.ts), the upstream call, and what is taken back if nothing went. */
  async #sendSms(mobile: MobileNumber, admitted: Admitted, upstreamKey: string, connection?: AbortSignal) {
    const { provider, policy } = this.deps;
    const { decision } = admitted;
    let sent: SendOtpResult;
    try {
      if (connection && (await closedMeanwhile(connection))) throw new GatewayError("CLIENT_CLOSED_REQUEST");
      sent = await provider.send({ phone: mobile.e164, idempotencyKey: upstreamKey });
    } catch (err) {
      // Only what surely went nowhere is taken back; a timeout may still have sent an SMS.
      if (err instanceof GatewayError && NOTHING_SENT.has(err.code) && !err.mayHaveSent) {
        await admitted.undo();
      }
      throw err;
    }
    const country = mobile.country ?? "*";
    this.deps.metrics.spend(country, policy.smsPrices.get(country) ?? policy.smsPrices.get("*") ?? 0);
    return { sent, resendAfter: decision.nextAllowedSeconds, afterRecord: admitted.sent };
  }

  async verify(requestId: string, code: string): Promise<VerifyOutcome> {
    const { store, provider, policy } = this.deps;
    // Only ids this gateway issued (and that have not expired) reach the upstream; one that is not
    // of its form is unknown without a store call.
    const id = parseVerificationId(requestId);
    if (!id) return this.#refuse(requestId, "unknown");
    const test = id.inner.startsWith(TEST_ID_PREFIX);
    // One step finds the id's phone, charges its window and begins the attempt: only an attempt
    // that is checked is charged to the phone, so junk verifies of a spent or exhausted id cannot
    // lock its owner out.
    const window = { policy: policy.phoneVerify, member: crypto.randomUUID() };
    const { state, phone, decision } = await store.beginVerify(id, policy.maxAttempts, window);
    if (state === "limited") throw GatewayError.rateLimited({ policy: policy.phoneVerify, decision: decision! });
    if (state !== "ok" || !phone) return this.#refuse(requestId, state === "used" || state === "ok" ? "unknown" : state);
    if (test) {
      // A test number's fixed code, checked here, no upstream. Past its last day, unknown. Its sends
      // are free, so new ids are too: only the phone's window bounds guesses. A wrong code stays
      // charged to it; the right one is taken back, so that reviewers and CI can sign in often.
      const entry = this.#tests.active(phone);
      if (!entry || !this.#tests.matches(entry, code))
        return { ...this.#refuse(requestId, entry ? "wrong_code" : "unknown"), test: true };
      if (!(await store.claimVerified(id))) return { ...this.#refuse(requestId, "unknown"), test: true };
      await store.refundVerify(id, window.member).catch(() => undefined);
      return { answer: { verified: true }, test: true };
    }
    const result = await provider.verify({ requestId: id.inner, code });
    if (!result.verified) return this.#refuse(requestId, result.reason);
    // The upstream may say yes twice (a race, or no single-use rule); we say it once.
    if (!(await store.claimVerified(id))) return this.#refuse(requestId, "unknown");
    // Counted for the pumping guard without waiting: the caller's answer does not depend on it.
    void this.#guards.pumping.verified(requireMobile(phone));
    return { answer: { verified: true }, test: false };
  }

  /**
   * Records what a send produced. The SMS is already out, so one failed write is
   * retried, and a second failure must not say "nothing was sent".
   */
  async #afterSend(write: () => Promise<unknown>, forget?: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch {
      try {
        await write();
      } catch (err) {
        await forget?.().catch(() => undefined);
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

  #refuse(requestId: string, reason: VerifyFailure): VerifyOutcome {
    this.deps.logger.debug("verify refused", { verificationId: requestId, reason });
    return { answer: this.deps.policy.exposeReason ? { verified: false, reason } : { verified: false }, test: false };
  }
}

/**
 * Whether the caller's connection is gone, asked just before an SMS is paid for: a caller who
 * cannot receive the answer never learns the verification's id. Bun closes a connection on which
 * a second request arrives before the first is answered (HTTP/1.1 pipelining), and tells the
 * handler one turn of the event loop later: that turn is waited for here (about a microsecond
 * of CPU; the memory store answers within the same turn).
 */
async function closedMeanwhile(connection: AbortSignal): Promise<boolean> {
  if (connection.aborted) return true;
  await new Promise<void>((resolve) => setImmediate(resolve));
  return connection.aborted;
}
