import { createHash } from "node:crypto";
import type { SendOtpResult, VerifyFailure } from "../../adapters/sms/port";
import type { Admission, KeyClaim, SendRequest, SendTicket, SentCode } from "../../adapters/store/port";
import { parseVerificationId, type VerificationRef, verificationId } from "../../domain/ids";
import { maskDigitRuns, maskPhone } from "../../domain/mask";
import { type MobileNumber, parseMobile } from "../../domain/phone";
import { attemptsLeftOf, statusOf } from "../../domain/verification-status";
import { GatewayError } from "../../errors";
import type { RefusalRule } from "../../observability/metrics";
import { DeliveryTracker } from "./delivery-tracker";
import type { SendAnswer, VerificationAnswer } from "./model";
import { requireMobile } from "./phone";
import { NOTHING_SENT, type OtpServiceDeps, type SendOutcome, type VerifyOutcome } from "./policy";
import { PumpingGuard } from "./pumping-guard";
import { SpendGuard } from "./spend-guard";
import { TEST_ID_PREFIX, TestNumbers } from "./test-numbers";

/** Who a send goes to: a test number (as listed), or a mobile. */
type Recipient = { kind: "test"; phone: string } | { kind: "mobile"; mobile: MobileNumber };
type Admitted = Extract<Admission, { kind: "admitted" }>;

/** Sending and verifying codes, free of HTTP: the controller maps errors to answers. */
export class OtpService {
  readonly #tests: TestNumbers;
  readonly #spend: SpendGuard;
  readonly #pumping: PumpingGuard;
  readonly #delivery: DeliveryTracker;

  constructor(private readonly deps: OtpServiceDeps) {
    const { store, policy, logger, metrics } = deps;
    this.#delivery = new DeliveryTracker({
      provider: deps.provider,
      store,
      policy: policy.delivery,
      metrics,
      logger,
    });
    this.#tests = new TestNumbers(policy.testNumbers, {
      ttlMs: policy.otpTtlMs,
      maxAttempts: policy.maxAttempts,
    });
    this.#spend = new SpendGuard({
      budgets: policy.sendBudgets,
      reserve: { share: policy.budgetReserve, mode: policy.pumping.mode },
      budgetUse: (budget) => store.budgetUse(budget),
      logger,
      metrics,
    });
    if (policy.pumping.mode !== "off") metrics.watchActiveBlocks(async () => (await store.blocks()).length);
    this.#pumping = new PumpingGuard({
      store,
      policy: policy.pumping,
      bounds: policy.unproven,
      returning: policy.returning,
      logger,
      metrics,
    });
  }

  /**
   * One send: who it goes to, the store's admission (every check in one step), the SMS,
   * then the record of it, or what the store counted taken back when nothing went out.
   * @param idempotencyKey the caller's Idempotency-Key, if any
   * @param from.caller who is asking (a caller-key id), so one caller cannot replay another's key
   * @param from.connection aborted when the caller's connection closes: no SMS is paid for then
   * @param from.traceId the HTTP request's id, for the provider's log lines
   */
  async send(
    phone: string,
    idempotencyKey: string | undefined,
    from: { caller?: string; connection?: AbortSignal; traceId?: string } = {},
  ): Promise<SendOutcome> {
    const recipient = this.#recipient(phone); // INVALID_PHONE, COUNTRY_NOT_ALLOWED before anything is spent
    const maskedPhone = maskPhone(
      phone,
      recipient.kind === "mobile" ? recipient.mobile.callingCode : undefined,
    );
    const key = idempotencyKey ? this.#keyClaim(idempotencyKey, from.caller) : undefined;
    const subject = recipient.kind === "mobile" ? recipient.mobile.e164 : recipient.phone;
    // No round trip once the store's secret is read (the first send after start or a reconnect reads it).
    const tag = await this.deps.store.phoneTag(subject);
    const request = this.#request(recipient, key);
    const admission = await this.deps.store.admit(request);
    if (admission.kind === "replay") {
      return { answer: storedAnswer(admission.answer), maskedPhone, replayed: true };
    }
    const [admitted, monitored] = this.#admitted(recipient, request, admission);
    const sent = await this.#deliver(recipient, request, admitted, from);
    const id = { tag, inner: sent.requestId };
    const answer: SendAnswer = {
      verificationId: verificationId(id),
      expiresAt: sent.expiresAt.toISOString(),
      attemptsLeft: Math.min(sent.attemptsLeft, this.deps.policy.maxAttempts),
      resendAfter: admitted.resendAfterSeconds,
    };
    const now = Date.now();
    const record: SentCode = {
      id,
      ttlMs: Math.max(sent.expiresAt.getTime() - now, 1_000),
      keepMs: this.deps.policy.verificationKeepMs,
      sentAtMs: now,
      expiresAtMs: sent.expiresAt.getTime(),
      attempts: answer.attemptsLeft,
      caller: from.caller ?? "",
      answer: JSON.stringify(answer),
      answerTtlMs: this.deps.policy.idempotencyTtlMs,
    };
    // The code went out: from here what the admission counted stays, whatever the record step does.
    await this.#record(admitted.ticket, record);
    if (recipient.kind === "mobile") {
      this.#pumping.sent(recipient.mobile, admitted);
      if (sent.messageId) {
        this.#delivery.track(id, {
          messageId: sent.messageId,
          country: recipient.mobile.country ?? "*",
          sentAtMs: now,
          expiresAtMs: record.expiresAtMs,
        });
      }
    }
    return {
      answer,
      maskedPhone,
      replayed: false,
      test: recipient.kind === "test",
      ...(monitored ? { monitored } : {}),
    };
  }

  /**
   * The code sent (a test number's made here), or what the admission counted taken back: all of it
   * when the send surely went nowhere, the guard's counts and the key when it may have gone out (a
   * timeout, a 5xx).
   */
  async #deliver(
    recipient: Recipient,
    request: SendRequest,
    admitted: Admitted,
    from: { connection?: AbortSignal; traceId?: string },
  ): Promise<SendOtpResult> {
    try {
      if (recipient.kind === "test") return this.#tests.send();
      return await this.#sendSms(recipient.mobile, request, from);
    } catch (err) {
      const nothingSent = err instanceof GatewayError && NOTHING_SENT.has(err.code) && !err.mayHaveSent;
      await (nothingSent
        ? this.deps.store.cancel(admitted.ticket)
        : this.deps.store.release(admitted.ticket)
      ).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Who a send goes to, as the gateway keys it (two spellings of one number are one number): a
   * test number as listed, found as written (it need not be a mobile) or as the mobile it is;
   * any other number must be a mobile of an allowed country.
   */
  #recipient(phone: string): Recipient {
    if (this.#tests.active(phone)) return { kind: "test", phone };
    const mobile = requireMobile(phone);
    if (this.#tests.active(mobile.e164)) return { kind: "test", phone: mobile.e164 };
    const { allowedCountries } = this.deps.policy;
    if (allowedCountries && !allowedCountries.has(mobile.country ?? "")) {
      throw new GatewayError("COUNTRY_NOT_ALLOWED", {
        detail: "This gateway does not send to that country.",
      });
    }
    return { kind: "mobile", mobile };
  }

  /** The caller's key, scoped to the caller (one caller cannot replay another's), and how long its claim lives unanswered. */
  #keyClaim(idempotencyKey: string, caller: string | undefined): KeyClaim {
    const key = caller
      ? createHash("sha256").update(`${caller}\0${idempotencyKey}`).digest("hex")
      : idempotencyKey;
    const { idempotencyPendingMs, idempotencyRetries, idempotencyTtlMs } = this.deps.policy;
    return { key, pendingMs: idempotencyPendingMs, retries: idempotencyRetries, keepMs: idempotencyTtlMs };
  }

  #request(recipient: Recipient, key: KeyClaim | undefined): SendRequest {
    if (recipient.kind === "test") return { kind: "test", phone: recipient.phone, key };
    const { mobile } = recipient;
    return {
      kind: "sms",
      phone: mobile.e164,
      // With a key, the event is named after it: a retry of a send that timed out is not
      // counted (or refused) a second time, and the upstream dedups the SMS.
      event: key ? `idem:${key.key}` : crypto.randomUUID(),
      window: this.deps.policy.phoneSend,
      key,
      pump: this.#pumping.check(mobile),
      returning: this.deps.policy.returning,
      budgets: this.#spend.budgetsFor(mobile.country),
    };
  }

  /**
   * The admission read by the guards (log lines, metrics, alerts): admitted, with the rule that
   * would have refused it in monitor mode, or the refusal thrown.
   */
  #admitted(
    recipient: Recipient,
    request: SendRequest,
    admission: Exclude<Admission, { kind: "replay" }>,
  ): [Admitted, RefusalRule | undefined] {
    const mobile = recipient.kind === "mobile" ? recipient.mobile : undefined;
    const sms = request.kind === "sms" ? request : undefined;
    if (mobile && sms?.pump && (admission.kind === "blocked" || admission.kind === "admitted")) {
      const rule = admission.kind === "blocked" ? admission.rule : admission.monitored;
      this.#pumping.observe(mobile, sms.pump, admission.verdict, rule);
    } else if (mobile && sms?.pump && admission.kind === "over_budget") {
      this.#pumping.observe(mobile, sms.pump, admission.verdict);
    }
    switch (admission.kind) {
      case "in_progress":
        throw new GatewayError("IDEMPOTENCY_IN_PROGRESS");
      case "conflict":
        throw new GatewayError("IDEMPOTENCY_CONFLICT");
      case "retries_spent":
        throw new GatewayError("IDEMPOTENCY_RETRIES_EXHAUSTED");
      case "limited":
        throw GatewayError.rateLimited({ policy: this.deps.policy.phoneSend, decision: admission.decision });
      case "blocked":
        throw new GatewayError("DESTINATION_BLOCKED", { rule: admission.rule });
      case "over_budget":
        throw this.#spend.refused(sms?.budgets ?? [], admission.budgets, admission.proven);
      case "admitted": {
        const reserve = this.#spend.admitted(sms?.budgets ?? [], admission.budgets, admission.proven);
        return [admission, admission.monitored ?? reserve];
      }
    }
  }

  /** A real SMS: the upstream call, unless the caller is gone; its estimated price counted. */
  async #sendSms(
    mobile: MobileNumber,
    request: SendRequest,
    { connection, traceId }: { connection?: AbortSignal; traceId?: string },
  ): Promise<SendOtpResult> {
    const { provider, policy, metrics } = this.deps;
    if (connection && (await closedMeanwhile(connection))) throw new GatewayError("CLIENT_CLOSED_REQUEST");
    // The upstream dedups on the key (a retry after a timeout sends no second SMS).
    const upstreamKey = request.key?.key ?? (request.kind === "sms" ? request.event : crypto.randomUUID());
    const sent = await provider.send({ phone: mobile.e164, idempotencyKey: upstreamKey, traceId });
    const country = mobile.country ?? "*";
    metrics.spend(country, policy.smsPrices.get(country) ?? policy.smsPrices.get("*") ?? 0);
    return sent;
  }

  /**
   * @param traceId the HTTP request's id, for the provider's log lines
   * @param caller the caller key's id ('' without caller keys): another caller's id is unknown to it
   */
  async verify(verification: string, code: string, traceId?: string, caller = ""): Promise<VerifyOutcome> {
    const { store, policy } = this.deps;
    // Only ids this gateway issued (and that have not expired) reach the upstream; one that is not
    // of its form is unknown without a store call.
    const id = parseVerificationId(verification);
    if (!id) return this.#refuse(verification, "unknown", false);
    const test = id.inner.startsWith(TEST_ID_PREFIX);
    // One step finds the id's phone, charges its window and begins the attempt: only an attempt
    // that is checked is charged to the phone, so junk verifies of a spent or exhausted id cannot
    // lock its owner out.
    const window = { policy: policy.phoneVerify, member: crypto.randomUUID() };
    const start = await store.beginVerify(id, policy.maxAttempts, window, caller);
    if (start.state === "limited") {
      throw GatewayError.rateLimited({ policy: policy.phoneVerify, decision: start.decision });
    }
    if (start.state === "unknown") return this.#refuse(verification, "unknown", false);
    if (start.state !== "ok") {
      // A used or canceled id is unknown to a verify: it will never verify again.
      return this.#refuse(
        verification,
        start.state === "used" || start.state === "canceled" ? "unknown" : start.state,
      );
    }
    const { phone } = start;
    if (test) return this.#verifyTestNumber(id, verification, phone, code, window.member);
    return this.#verifyUpstream(id, verification, phone, code, start.unproven, traceId);
  }

  /**
   * A test number's fixed code, checked here, no upstream. Past its last day, unknown. Its sends
   * are free, so new ids are too: only the phone's window bounds guesses. A wrong code stays
   * charged to it; the right one is taken back, so that reviewers and CI can sign in often.
   */
  async #verifyTestNumber(
    id: VerificationRef,
    requestId: string,
    phone: string,
    code: string,
    member: string,
  ): Promise<VerifyOutcome> {
    const { store } = this.deps;
    const entry = this.#tests.active(phone);
    if (!entry || !this.#tests.matches(entry, code)) {
      return { ...this.#refuse(requestId, entry ? "wrong_code" : "unknown"), test: true };
    }
    if (!(await store.claimVerified(id))) return { ...this.#refuse(requestId, "unknown"), test: true };
    await store.refundVerify(id, member).catch(() => undefined);
    return { answer: { verified: true }, test: true, loggedId: requestId };
  }

  async #verifyUpstream(
    id: VerificationRef,
    requestId: string,
    phone: string,
    code: string,
    unproven: number | undefined,
    traceId: string | undefined,
  ): Promise<VerifyOutcome> {
    const { store, provider } = this.deps;
    const result = await provider.verify({ requestId: id.inner, code, traceId });
    if (!result.verified) return this.#refuse(requestId, result.reason);
    // The upstream may say yes twice (a race, or no single-use rule); we say it once.
    if (!(await store.claimVerified(id))) return this.#refuse(requestId, "unknown");
    // Counted for the pumping guard without waiting: the caller's answer does not depend on it.
    void this.#pumping.verified(requireMobile(phone), unproven);
    return { answer: { verified: true }, test: false, loggedId: requestId };
  }

  /** Stops following deliveries (their timers): at shutdown, and in tests. */
  stop(): void {
    this.#delivery.stop();
  }

  /**
   * Where a verification stands, for the caller that sent it (`caller`: its key's id, '' without
   * caller keys). Another caller's id, or one forgotten, is VERIFICATION_NOT_FOUND, as an id never
   * issued is: a caller cannot learn whether someone else's id exists.
   */
  async status(verification: string, caller = ""): Promise<VerificationAnswer> {
    const id = parseVerificationId(verification);
    const found = id && (await this.deps.store.verification(id));
    if (!found || found.caller !== caller) throw new GatewayError("VERIFICATION_NOT_FOUND");
    // Attempts as a verify counts them: never more than OTP_MAX_ATTEMPTS now allows.
    const state = {
      ...found,
      attemptsAllowed: Math.min(found.attemptsAllowed, this.deps.policy.maxAttempts),
    };
    const now = Date.now();
    return {
      verificationId: verification,
      status: statusOf(state, now),
      expiresAt: new Date(state.expiresAtMs).toISOString(),
      attemptsLeft: attemptsLeftOf(state, now),
      phone: maskedNumber(state.phone),
      // What the upstream last reported of the SMS; until it says anything, unknown as of the send.
      delivery: {
        status: state.delivery?.status ?? "unknown",
        updatedAt: new Date(state.delivery?.atMs ?? state.sentAtMs).toISOString(),
      },
    };
  }

  /**
   * Cancels a pending verification of the caller's: its code can no longer verify. Nothing is given
   * back to a limit or a budget (the SMS was paid for). Another caller's or an unknown id is
   * VERIFICATION_NOT_FOUND; one that has ended, VERIFICATION_ENDED.
   */
  async cancel(verification: string, caller = ""): Promise<void> {
    const id = parseVerificationId(verification);
    if (!id) throw new GatewayError("VERIFICATION_NOT_FOUND");
    const result = await this.deps.store
      .cancelVerification(id, caller, this.deps.policy.maxAttempts)
      .catch((err: unknown) => {
        // The store may have taken the cancel before it stopped answering: say so, not "nothing was done".
        if (err instanceof GatewayError && err.code === "STORE_UNAVAILABLE") {
          throw new GatewayError("STORE_UNAVAILABLE", {
            detail:
              "The gateway could not reach its store: the verification may or may not be canceled. " +
              "DELETE it again: 204, or 409 saying canceled, means it is.",
            cause: err,
          });
        }
        throw err;
      });
    if (result.kind === "unknown") throw new GatewayError("VERIFICATION_NOT_FOUND");
    if (result.kind === "ended") {
      throw new GatewayError("VERIFICATION_ENDED", {
        detail: `This verification has already ended: ${result.status}.`,
      });
    }
  }

  /**
   * Records what a send produced. The SMS is already out, so one failed write is
   * retried, and a second failure must not say "nothing was sent".
   */
  async #record(ticket: SendTicket, sent: SentCode): Promise<void> {
    const { store, logger } = this.deps;
    try {
      await store.record(ticket, sent);
    } catch {
      try {
        await store.record(ticket, sent);
      } catch (err) {
        // The key's answer may have been stored without its record: forget it, so that a retry
        // with the key sends again (the upstream dedups it) and records the id this time.
        await store.forget(ticket).catch(() => undefined);
        logger.error("a code was sent but could not be recorded", {
          error: err instanceof Error ? err : String(err),
        });
        throw new GatewayError("STORE_UNAVAILABLE", {
          detail:
            "The code may have been sent, but the gateway could not record it. " +
            "Retry with the same Idempotency-Key: no second SMS goes out.",
          cause: err,
        });
      }
    }
  }

  /** @param known whether the store knows the id: an id it does not know is the caller's text, logged with its digits masked. */
  #refuse(requestId: string, reason: VerifyFailure, known = true): VerifyOutcome {
    const shown = loggedId(requestId, known);
    this.deps.logger.debug("verify refused", { verificationId: shown, reason });
    return {
      answer: this.deps.policy.exposeReason ? { verified: false, reason } : { verified: false },
      test: false,
      loggedId: shown,
    };
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

/**
 * A send's answer kept for its Idempotency-Key: as this release writes it, or as an earlier one did,
 * with the code's id under `requestId` (kept for IDEMPOTENCY_TTL), renamed.
 */
/**
 * A verification id as a log line may show it: whole when the store knows it (the gateway issued it),
 * else with its digits masked, as a path is: an id is the caller's text until it is found, and a
 * caller may put a phone number there.
 */
export const loggedId = (id: string, known: boolean) => (known ? id : maskDigitRuns(id));

/** A number masked as log lines mask it: by its country's calling code when it parses as a mobile. */
function maskedNumber(phone: string): string {
  const parsed = parseMobile(phone);
  return maskPhone(phone, parsed.ok ? parsed.mobile.callingCode : undefined);
}

function storedAnswer(text: string): SendAnswer {
  const { requestId, ...answer } = JSON.parse(text) as SendAnswer & { requestId?: string };
  return requestId !== undefined && answer.verificationId === undefined
    ? { ...answer, verificationId: requestId }
    : answer;
}
