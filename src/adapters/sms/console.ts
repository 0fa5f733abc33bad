import { randomUUID } from "node:crypto";
import type { LRUCache } from "lru-cache";
import { maskPhone } from "../../domain/mask";
import { CodeHasher, generateCode } from "../../domain/otp-code";
import { GatewayError } from "../../errors";
import { boundedLru } from "../../lib/lru";
import type { Logger } from "../../observability/logger";
import type {
  ProviderHealth,
  SendOtpInput,
  SendOtpResult,
  SmsProvider,
  VerifyOtpInput,
  VerifyOtpResult,
} from "./port";

export interface ConsoleProviderOptions {
  /** Digits per code. Default 6. */
  codeLength: number;
  /** Code lifetime in ms. */
  ttlMs: number;
  /** Verify attempts per code. */
  maxAttempts: number;
  logger: Logger;
  /** Codes and idempotency records held at most (oldest dropped first). Default 100000. */
  maxEntries?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface PendingCode {
  phone: string;
  digest: Buffer;
  expiresAt: number;
  attemptsLeft: number;
}

const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/**
 * The embedded provider for trying the gateway without an SMS account: it
 * generates the code itself and prints it in one log line instead of sending
 * an SMS. It mirrors StartMessaging's semantics (single use, attempt limit,
 * expiry, a resend invalidates the previous code, idempotency keys) so that a
 * client written against it behaves the same in production. State is in
 * memory and bounded; it is lost on restart.
 */
export class ConsoleProvider implements SmsProvider {
  readonly name = "console";
  readonly #hasher = new CodeHasher();
  readonly #codes: LRUCache<string, PendingCode>;
  readonly #latestByPhone: LRUCache<string, string>;
  readonly #idempotent: LRUCache<string, { phone: string; result: SendOtpResult }>;
  readonly #now: () => number;

  constructor(private readonly options: ConsoleProviderOptions) {
    const max = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#codes = boundedLru(max);
    this.#latestByPhone = boundedLru(max);
    this.#idempotent = boundedLru(max, { ttl: IDEMPOTENCY_TTL_MS });
  }

  async send({ phone, idempotencyKey, traceId }: SendOtpInput): Promise<SendOtpResult> {
    const previous = this.#idempotent.get(idempotencyKey);
    if (previous) {
      if (previous.phone !== phone) throw new GatewayError("IDEMPOTENCY_CONFLICT");
      return previous.result;
    }
    const requestId = `otp_${randomUUID().replaceAll("-", "")}`;
    const code = generateCode(this.options.codeLength);
    const expiresAt = this.#now() + this.options.ttlMs;
    const stale = this.#latestByPhone.get(phone);
    if (stale) this.#codes.delete(stale); // a resend invalidates the previous code
    this.#codes.set(requestId, {
      phone,
      digest: this.#hasher.digest(requestId, code),
      expiresAt,
      attemptsLeft: this.options.maxAttempts,
    });
    this.#latestByPhone.set(phone, requestId);
    const result = { requestId, expiresAt: new Date(expiresAt), attemptsLeft: this.options.maxAttempts };
    this.#idempotent.set(idempotencyKey, { phone, result });
    // The one log line that carries a code: this provider exists to show it to a developer.
    // Bound to the HTTP request's id, as the send's request line is (which names the whole verificationId).
    const log = traceId ? this.options.logger.child({ requestId: traceId }) : this.options.logger;
    log.warn("console provider: OTP code (not sent by SMS)", {
      phone: maskPhone(phone),
      // The verificationId's end: the gateway's id is `<tag>.<providerId>`.
      providerId: requestId,
      code,
    });
    return result;
  }

  async verify({ requestId, code }: VerifyOtpInput): Promise<VerifyOtpResult> {
    const pending = this.#codes.get(requestId);
    if (!pending) return { verified: false, reason: "unknown" };
    if (this.#now() >= pending.expiresAt) {
      this.#codes.delete(requestId);
      return { verified: false, reason: "expired" };
    }
    if (pending.attemptsLeft <= 0) return { verified: false, reason: "exhausted" };
    // Checked and updated with no await in between: two concurrent verifies cannot both win.
    if (this.#hasher.matches(requestId, code, pending.digest)) {
      this.#codes.delete(requestId);
      this.#latestByPhone.delete(pending.phone);
      return { verified: true };
    }
    pending.attemptsLeft -= 1;
    return { verified: false, reason: "wrong_code" };
  }

  async health(): Promise<ProviderHealth> {
    return { ok: true, detail: "console provider (codes are logged, not sent)" };
  }
}
