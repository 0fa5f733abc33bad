import { Elysia } from "elysia";
import type { RequestContext } from "../../http/request-context";
import { OtpModels, SEND_DETAIL, SendHeaders, VERIFY_DETAIL } from "./model";
import type { OtpService } from "./service";

/** HTTP controller for /v1/otp: validation by schema, everything else in OtpService. */
export function otpController(service: OtpService, context: RequestContext) {
  return (
    new Elysia({ name: "otp", prefix: "/v1/otp" })
      .use(context)
      .model(OtpModels)
      // `parse: "json"`: the bodies are JSON, read by the one strict parser (json-body.ts, global), which
      // runs first; said here too, so that the document's request body is application/json.
      .post(
        "/send",
        async ({ body, headers, meta, set, request }) => {
          const { answer, maskedPhone, replayed, test, monitored } = await service.send(
            body.phone,
            headers["idempotency-key"],
            { caller: meta.callerId, connection: request.signal, traceId: meta.requestId },
          );
          meta.maskedPhone = maskedPhone;
          meta.verificationId = answer.verificationId;
          if (monitored) meta.rule = `monitor:${monitored}`;
          // Gone while the SMS went out (a closed or pipelined connection): its line says so.
          if (request.signal.aborted) meta.clientGone = true;
          meta.outcome = replayed ? "replayed" : test ? "test_number" : "sent";
          if (replayed) set.headers["idempotent-replayed"] = "true";
          return answer;
        },
        {
          parse: "json",
          body: "SendRequest",
          headers: SendHeaders,
          response: { 200: "SendResponse" },
          detail: SEND_DETAIL,
        },
      )
      .post(
        "/verify",
        async ({ body, meta }) => {
          const { answer, test } = await service.verify(body.verificationId, body.code, meta.requestId);
          meta.verificationId = body.verificationId;
          meta.outcome = `${test ? "test_" : ""}${answer.verified ? "verified" : "not_verified"}`;
          return answer;
        },
        { parse: "json", body: "VerifyRequest", response: { 200: "VerifyResponse" }, detail: VERIFY_DETAIL },
      )
  );
}
