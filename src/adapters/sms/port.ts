import type { DeliveryStatus } from "../../domain/verification-status";

/**
 * The port every SMS provider implements. Providers throw `GatewayError` with a
 * stable code on failure; they never see HTTP requests of the gateway itself.
 */
export interface SendOtpInput {
  /** E.164, already validated. */
  phone: string;
  /** Same key ⇒ same answer, no second SMS (the provider or upstream enforces it). */
  idempotencyKey: string;
  /** The HTTP request's id (X-Request-Id), for the provider's log lines about this call. */
  traceId?: string;
}

export interface SendOtpResult {
  /** The id the caller verifies with. */
  requestId: string;
  expiresAt: Date;
  attemptsLeft: number;
  /** The SMS's id at the upstream, when it gives one: its delivery status is asked by it. */
  messageId?: string;
}

/** What the upstream says of one SMS's delivery. */
export interface DeliveryReport {
  status: DeliveryStatus;
  /** The upstream asked to wait this long before asking again (a 429). */
  retryAfterMs?: number;
}

export interface VerifyOtpInput {
  requestId: string;
  code: string;
  /** The HTTP request's id (X-Request-Id), for the provider's log lines about this call. */
  traceId?: string;
}

/** Why a verify failed: declared once, here; the API's `reason` (src/modules/otp/model.ts) is one of these. */
export const VERIFY_FAILURES = ["wrong_code", "expired", "unknown", "exhausted"] as const;
export type VerifyFailure = (typeof VERIFY_FAILURES)[number];

export type VerifyOtpResult = { verified: true } | { verified: false; reason: VerifyFailure };

export interface ProviderHealth {
  ok: boolean;
  detail: string;
}

export interface SmsProvider {
  readonly name: "startmessaging" | "console";
  send(input: SendOtpInput): Promise<SendOtpResult>;
  verify(input: VerifyOtpInput): Promise<VerifyOtpResult>;
  /** A cheap reachability check for `/readyz`. */
  health(): Promise<ProviderHealth>;
  /** The delivery status of a sent SMS (by SendOtpResult.messageId), for a provider that can tell it. */
  delivery?(messageId: string): Promise<DeliveryReport>;
}
