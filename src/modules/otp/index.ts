import { Elysia } from "elysia";
import type { RequestContext } from "../../http/request-context";
import { SendBody, SendHeaders, SendResponse, VerifyBody, VerifyResponse } from "./model";
import type { OtpService } from "./service";

/** HTTP controller for /v1/otp: validation by schema, everything else in OtpService. */
export function otpController(service: OtpService, context: RequestContext) {
  return new Elysia({ name: "otp", prefix: "/v1/otp" })
    .use(context)
    .post(
      "/send",
      async ({ body, headers, meta, set, request }) => {
        const { answer, maskedPhone, replayed, test } = await service.send(body.phone, headers["idempotency-key"], {
          caller: meta.callerId,
          connection: request.signal,
        });
        meta.maskedPhone = maskedPhone;
        meta.outcome = replayed ? "replayed" : test ? "test_number" : "sent";
        if (replayed) set.headers["idempotent-replayed"] = "true";
        return answer;
      },
      { body: SendBody, headers: SendHeaders, response: { 200: SendResponse } },
    )
    .post(
      "/verify",
      async ({ body, meta }) => {
        const { answer, test } = await service.verify(body.requestId, body.code);
        meta.outcome = `${test ? "test_" : ""}${answer.verified ? "verified" : "not_verified"}`;
        return answer;
      },
      { body: VerifyBody, response: { 200: VerifyResponse } },
    );
}
