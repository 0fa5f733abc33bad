import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import { VERIFY_FAILURES } from "../../adapters/sms/port";
import { IDEMPOTENCY_KEY_RE, VERIFICATION_ID_PATTERN } from "../../domain/ids";
import { E164_PATTERN } from "../../domain/phone";
import { DELIVERY_STATUSES, VERIFICATION_STATUSES } from "../../domain/verification-status";
import type { ErrorCode } from "../../errors";
import { answer, type OperationDetail, problemResponses, SECURITY } from "../../http/openapi-detail";
import { literals } from "../../http/openapi-models";

export const SendBody = t.Object({
  phone: t.String({
    pattern: E164_PATTERN,
    description: "Mobile number in E.164 form: `+`, country code, number; no spaces.",
    examples: ["+919876543210"],
  }),
});

export const SendHeaders = t.Object({
  "idempotency-key": t.Optional(
    t.String({
      pattern: IDEMPOTENCY_KEY_RE.source,
      description:
        "Optional. Repeating a send with the same key returns the first answer without a second SMS; " +
        "the same key with another phone is 409. A UUID is a good key.",
      examples: ["3f0c7d1e-9d1b-4bb8-8f5e-0d6c1f0a2b11"],
    }),
  ),
});

export const SendResponse = t.Object({
  verificationId: t.String({
    description:
      "This code's verification: pass it to /v1/otp/verify as it is (not the HTTP request's `X-Request-Id`). Opaque: up to 145 characters of `A-Z a-z 0-9 . _ : -`; " +
      "its form may change between releases.",
    examples: ["3f9a1c0e5b7d2a46.otp_5b1f0c2e8a7d4e49b3c1d2e3f4a5b6c7"],
  }),
  expiresAt: t.String({
    format: "date-time",
    description: "When the code stops working (ISO 8601).",
    examples: ["2026-11-25T10:05:00.000Z"],
  }),
  // TypeBox's Integer: Elysia's `t.Integer` also accepts numeric strings, which an answer never holds.
  attemptsLeft: Type.Integer({
    minimum: 0,
    description: "Verify attempts allowed for this code.",
    examples: [3],
  }),
  resendAfter: Type.Integer({
    minimum: 0,
    description: "Seconds before this phone may ask for another code.",
    examples: [60],
  }),
});

export const VerifyBody = t.Object({
  verificationId: t.String({
    pattern: VERIFICATION_ID_PATTERN,
    description:
      "The `verificationId` returned by send, as it is. An id the gateway never issued is `verified: false`.",
    examples: ["3f9a1c0e5b7d2a46.otp_5b1f0c2e8a7d4e49b3c1d2e3f4a5b6c7"],
  }),
  code: t.String({
    pattern: "^[0-9]{4,8}$",
    description: "The 4–8 digit code the user typed.",
    examples: ["123456"],
  }),
});

export const VerifyResponse = t.Object({
  verified: t.Boolean({
    description:
      "True only for the right code, once. A wrong, expired or unknown code is `false`, not an error.",
  }),
  reason: t.Optional(
    literals(VERIFY_FAILURES, { description: "Only when the gateway runs with VERIFY_EXPOSE_REASON=true." }),
  ),
});

const VerificationIdParam = t.String({
  pattern: VERIFICATION_ID_PATTERN,
  description: "The `verificationId` send answered, as it is.",
  examples: ["3f9a1c0e5b7d2a46.otp_5b1f0c2e8a7d4e49b3c1d2e3f4a5b6c7"],
});

export const VerificationParams = t.Object({ verificationId: VerificationIdParam });

export const VerificationResponse = t.Object({
  verificationId: t.String({
    description: "The verification's id, as send answered it.",
    examples: ["3f9a1c0e5b7d2a46.otp_5b1f0c2e8a7d4e49b3c1d2e3f4a5b6c7"],
  }),
  status: literals(VERIFICATION_STATUSES, {
    description:
      "`pending` while the code may still verify; then `verified` (the right code came), `canceled` (DELETE), " +
      "`failed` (every attempt spent on wrong codes) or `expired` (its lifetime ran out unverified).",
  }),
  expiresAt: t.String({
    format: "date-time",
    description: "When the code stops (or stopped) working (ISO 8601).",
    examples: ["2026-11-25T10:05:00.000Z"],
  }),
  attemptsLeft: Type.Integer({
    minimum: 0,
    description: "Verify attempts left; 0 once the verification has ended.",
    examples: [2],
  }),
  phone: t.String({
    description: "The number, masked as in the gateway's logs: its country code and last digits.",
    examples: ["+91******3210"],
  }),
  delivery: t.Object(
    {
      status: literals(DELIVERY_STATUSES, {
        description:
          "What the gateway knows of the SMS's delivery; `unknown` while it has learned nothing since the send.",
      }),
      updatedAt: t.String({
        format: "date-time",
        description: "When the gateway learned it (the send's time, while `unknown`).",
        examples: ["2026-11-25T10:00:00.000Z"],
      }),
    },
    { description: "The SMS's delivery, as far as the gateway knows it." },
  ),
});

/** What a send answers: the body of a 200 (`typeof` the model, so the two cannot drift). */
export type SendAnswer = typeof SendResponse.static;
/** What a verify answers. */
export type VerifyAnswer = typeof VerifyResponse.static;
/** What GET /v1/otp/{verificationId} answers. */
export type VerificationAnswer = typeof VerificationResponse.static;

/** The models the OTP routes name: each is `components.schemas[name]` in the document. */
export const OtpModels = {
  SendRequest: SendBody,
  SendResponse,
  VerifyRequest: VerifyBody,
  VerifyResponse,
  Verification: VerificationResponse,
};

const SEND_ERRORS: readonly ErrorCode[] = [
  "INVALID_REQUEST",
  "INVALID_PHONE",
  "UNSUPPORTED_COUNTRY",
  "UNAUTHORIZED",
  "COUNTRY_NOT_ALLOWED",
  "DESTINATION_BLOCKED",
  "IDEMPOTENCY_CONFLICT",
  "IDEMPOTENCY_IN_PROGRESS",
  "IDEMPOTENCY_RETRIES_EXHAUSTED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "RATE_LIMITED",
  "SEND_BUDGET_EXHAUSTED",
  "GATEWAY_MISCONFIGURED",
  "INTERNAL_ERROR",
  "UPSTREAM_ERROR",
  "PROVIDER_UNAVAILABLE",
  "STORE_UNAVAILABLE",
  "UPSTREAM_TIMEOUT",
];

const VERIFY_ERRORS: readonly ErrorCode[] = SEND_ERRORS.filter(
  (code) =>
    ![
      "INVALID_PHONE",
      "UNSUPPORTED_COUNTRY",
      "COUNTRY_NOT_ALLOWED",
      "DESTINATION_BLOCKED",
      "IDEMPOTENCY_CONFLICT",
      "IDEMPOTENCY_IN_PROGRESS",
      "IDEMPOTENCY_RETRIES_EXHAUSTED",
      "SEND_BUDGET_EXHAUSTED",
    ].includes(code),
);

/** POST /v1/otp/send in the OpenAPI document. */
export const SEND_DETAIL: OperationDetail = {
  operationId: "sendOtp",
  tags: ["OTP"],
  summary: "Send a one-time code by SMS",
  description:
    "Validates the number (E.164, must be able to receive SMS, country allowed), checks the per-IP and " +
    "per-phone limits and the spend guard, and asks the SMS provider to send a code. Nothing is sent for " +
    "invalid or refused input. Keep `verificationId` for verify; `resendAfter` says when this phone may ask again. " +
    "With the same `Idempotency-Key` a repeat returns the first answer (header `Idempotent-Replayed: true`) " +
    "without a second SMS.",
  security: SECURITY.caller,
  // The header as callers spell it, with more than its schema (SendHeaders) says.
  parameters: [
    {
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "Optional; 1–255 printable ASCII characters, no spaces (a UUID is a good key). A repeat with the same key within " +
        "IDEMPOTENCY_TTL returns the first answer without a second SMS; with another phone it is 409; while the " +
        "first is still running, 409 too. Retry a send that timed out with the same key. " +
        "In Swagger UI leave it empty, or type a new key for each Execute.",
    },
  ],
  responses: {
    200: answer(
      "The code is on its way (or, with `Idempotent-Replayed: true`, this is the first answer for the key).",
      {
        headers: ["Idempotent-Replayed"],
      },
    ),
    ...problemResponses(SEND_ERRORS),
  },
};

/** POST /v1/otp/verify in the OpenAPI document. */
export const VERIFY_DETAIL: OperationDetail = {
  operationId: "verifyOtp",
  tags: ["OTP"],
  summary: "Check a code the user typed",
  description:
    "`verified: true` exactly once for the right code. A wrong, expired, exhausted or unknown code answers " +
    "200 with `verified: false`; it is not an error. At most OTP_MAX_ATTEMPTS tries per `verificationId`; " +
    "per-phone and per-IP verify limits answer 429.",
  security: SECURITY.caller,
  responses: {
    200: answer(
      "Whether the code was right. `reason` appears only when the gateway runs with VERIFY_EXPOSE_REASON=true.",
      {
        examples: {
          verified: { summary: "The right code, the first time", value: { verified: true } },
          notVerified: { summary: "Wrong, expired, used or unknown", value: { verified: false } },
          withReason: {
            summary: "The same, with VERIFY_EXPOSE_REASON=true",
            value: { verified: false, reason: "wrong_code" },
          },
        },
      },
    ),
    ...problemResponses(VERIFY_ERRORS),
  },
};

/** The errors of the routes that read or cancel one verification. */
const ONE_VERIFICATION_ERRORS: readonly ErrorCode[] = [
  "INVALID_REQUEST",
  "UNAUTHORIZED",
  "VERIFICATION_NOT_FOUND",
  "PAYLOAD_TOO_LARGE",
  "RATE_LIMITED",
  "INTERNAL_ERROR",
  "STORE_UNAVAILABLE",
];

/** GET /v1/otp/{verificationId} in the OpenAPI document. */
export const STATUS_DETAIL: OperationDetail = {
  operationId: "getVerification",
  tags: ["OTP"],
  summary: "Where a verification stands",
  description:
    "Its status (`pending`, then `verified`, `canceled`, `failed` or `expired`), the code's expiry, the attempts " +
    "left, the number masked and what the gateway knows of the SMS's delivery. Readable until VERIFICATION_KEEP " +
    "after the code's expiry. With GATEWAY_API_KEYS, only the caller key that sent it sees it: another caller's " +
    "id is 404, as an unknown one is.",
  security: SECURITY.caller,
  responses: {
    200: answer("The verification as it stands.", {
      examples: {
        pending: {
          summary: "Sent, not verified yet",
          value: {
            verificationId: "3f9a1c0e5b7d2a46.otp_5b1f0c2e8a7d4e49b3c1d2e3f4a5b6c7",
            status: "pending",
            expiresAt: "2026-11-25T10:05:00.000Z",
            attemptsLeft: 3,
            phone: "+91******3210",
            delivery: { status: "unknown", updatedAt: "2026-11-25T10:00:00.000Z" },
          },
        },
        verified: {
          summary: "Verified",
          value: {
            verificationId: "3f9a1c0e5b7d2a46.otp_5b1f0c2e8a7d4e49b3c1d2e3f4a5b6c7",
            status: "verified",
            expiresAt: "2026-11-25T10:05:00.000Z",
            attemptsLeft: 0,
            phone: "+91******3210",
            delivery: { status: "unknown", updatedAt: "2026-11-25T10:00:00.000Z" },
          },
        },
      },
    }),
    ...problemResponses(ONE_VERIFICATION_ERRORS),
  },
};

/** DELETE /v1/otp/{verificationId} in the OpenAPI document. */
export const CANCEL_DETAIL: OperationDetail = {
  operationId: "cancelVerification",
  tags: ["OTP"],
  summary: "Cancel a verification",
  description:
    "Its code can no longer verify (a later verify answers `verified: false`) and its status becomes `canceled`, " +
    "e.g. when the user changed their number. Nothing is given back to a limit or a budget: the SMS was paid for. " +
    "409 when it has already ended; 404 for an unknown id or another caller's.",
  security: SECURITY.caller,
  responses: {
    204: answer("Canceled."),
    ...problemResponses([...ONE_VERIFICATION_ERRORS, "VERIFICATION_ENDED"]),
  },
};
