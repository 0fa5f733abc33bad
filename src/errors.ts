import type { RatePolicy } from "./domain/rate-policy";
import type { RateDecision } from "./domain/rate-window";

/**
 * Every failure the gateway reports has one stable code. Adapters and services
 * throw `GatewayError`; only the HTTP layer (`src/http/error-codes.ts`, one
 * table) gives a code its status, title and texts.
 */
export const ERROR_CODES = [
  "INVALID_REQUEST",
  "INVALID_PHONE",
  "UNSUPPORTED_COUNTRY",
  "COUNTRY_NOT_ALLOWED",
  "DESTINATION_BLOCKED",
  "UNAUTHORIZED",
  "UNSUPPORTED_MEDIA_TYPE",
  "PAYLOAD_TOO_LARGE",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "VERIFICATION_NOT_FOUND",
  "VERIFICATION_ENDED",
  "IDEMPOTENCY_CONFLICT",
  "IDEMPOTENCY_IN_PROGRESS",
  "IDEMPOTENCY_RETRIES_EXHAUSTED",
  "CLIENT_CLOSED_REQUEST",
  "RATE_LIMITED",
  "SEND_BUDGET_EXHAUSTED",
  "GATEWAY_MISCONFIGURED",
  "PROVIDER_UNAVAILABLE",
  "STORE_UNAVAILABLE",
  "UPSTREAM_ERROR",
  "UPSTREAM_TIMEOUT",
  "INTERNAL_ERROR",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One invalid field of a request, for `INVALID_REQUEST`. */
export interface FieldError {
  /** JSON pointer into the body, e.g. `/phone`. */
  pointer: string;
  detail: string;
}

/** What a denial by one of the gateway's own limits needs for its answer: the policy and its decision. */
export interface RateLimitInfo {
  policy: RatePolicy;
  decision: RateDecision;
}

export interface GatewayErrorOptions {
  /** Safe to show the caller; no secrets, no full phone numbers. */
  detail?: string;
  /** Whether the same call may succeed if repeated (used by the retry loop). */
  retryable?: boolean;
  /** Seconds the caller should wait, for `RATE_LIMITED`. */
  retryAfterSeconds?: number;
  fieldErrors?: FieldError[];
  rateLimit?: RateLimitInfo;
  /** An SMS may have gone out although this error says otherwise (an earlier attempt reached the upstream). */
  mayHaveSent?: boolean;
  /** The guard rule that refused (DESTINATION_BLOCKED, SEND_BUDGET_EXHAUSTED): for the request line, never the answer. */
  rule?: string;
  cause?: unknown;
}

export class GatewayError extends Error {
  override name = "GatewayError";
  readonly retryable: boolean;
  readonly detail?: string;
  readonly retryAfterSeconds?: number;
  readonly fieldErrors?: FieldError[];
  readonly rateLimit?: RateLimitInfo;
  readonly mayHaveSent: boolean;
  readonly rule?: string;

  constructor(
    readonly code: ErrorCode,
    options: GatewayErrorOptions = {},
  ) {
    super(options.detail ?? code, { cause: options.cause });
    this.retryable = options.retryable ?? false;
    this.detail = options.detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.fieldErrors = options.fieldErrors;
    this.rateLimit = options.rateLimit;
    this.mayHaveSent = options.mayHaveSent ?? false;
    this.rule = options.rule;
  }

  /** The same error, marked: an SMS may have gone out before it. */
  withMayHaveSent(): GatewayError {
    const { code, detail, retryable, retryAfterSeconds, fieldErrors, rateLimit, rule } = this;
    return new GatewayError(code, {
      detail,
      retryable,
      retryAfterSeconds,
      fieldErrors,
      rateLimit,
      rule,
      mayHaveSent: true,
      cause: this.cause,
    });
  }

  /** A denial by one of the gateway's own limits. */
  static rateLimited(rateLimit: RateLimitInfo): GatewayError {
    return new GatewayError("RATE_LIMITED", {
      retryAfterSeconds: rateLimit.decision.retryAfterSeconds,
      rateLimit,
    });
  }
}
