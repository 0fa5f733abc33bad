import { Elysia } from "elysia";
import { commonProblems, ProblemSchema } from "../../http/openapi-models";
import type { RequestContext } from "../../http/request-context";
import { SendBody, SendHeaders, SendResponse, VerifyBody, VerifyResponse } from "./model";
import type { OtpService } from "./service";

/** HTTP controller for /v1/otp: validation by schema, everything else in OtpService. */
export function otpController(service: OtpService, context: RequestContext) {
  return new Elysia({ name: "otp", prefix: "/v1/otp", tags: ["OTP"] })
    .use(context)
    .post(
      "/send",
      async ({ body, headers, meta, set }) => {
        const { answer, maskedPhone, replayed } = await service.send(body.phone, headers["idempotency-key"], meta.callerId);
        meta.maskedPhone = maskedPhone;
        meta.outcome = replayed ? "replayed" : "sent";
        if (replayed) set.headers["idempotent-replayed"] = "true";
        return answer;
      },
      {
        body: SendBody,
        headers: SendHeaders,
        response: { 200: SendResponse, ...commonProblems, 409: { ...ProblemSchema, description: "The Idempotency-Key was already used for another phone (`IDEMPOTENCY_CONFLICT`), or a request with it is still running (`IDEMPOTENCY_IN_PROGRESS`)." }, 403: { ...ProblemSchema, description: "The number's country is not in ALLOWED_COUNTRIES (`COUNTRY_NOT_ALLOWED`)." } },
        detail: {
          summary: "Send a one-time code by SMS",
          description:
            "Validates the number (E.164, must be able to receive SMS, country allowed), checks the per-IP and per-phone limits, and asks the SMS provider to send a code. Nothing is sent for invalid or refused input. Keep `requestId` for verify; `resendAfter` says when this phone may ask again. With the same `Idempotency-Key` a repeat returns the first answer (header `Idempotent-Replayed: true`) without a second SMS.",
        },
      },
    )
    .post(
      "/verify",
      async ({ body, meta }) => {
        const result = await service.verify(body.requestId, body.code);
        meta.outcome = result.verified ? "verified" : "not_verified";
        return result;
      },
      {
        body: VerifyBody,
        response: { 200: VerifyResponse, ...commonProblems },
        detail: {
          summary: "Check a code the user typed",
          description:
            "`verified: true` exactly once for the right code. A wrong, expired, exhausted or unknown code answers 200 with `verified: false`; it is not an error. At most OTP_MAX_ATTEMPTS tries per `requestId`; per-phone and per-IP verify limits answer 429.",
        },
      },
    );
}
