import { Elysia, NotFoundError } from "elysia";
import type { RequestContext } from "../../http/request-context";
import {
  CANCEL_DETAIL,
  OtpModels,
  SEND_DETAIL,
  SendHeaders,
  STATUS_DETAIL,
  VERIFY_DETAIL,
  VerificationParams,
} from "./model";
import { loggedId, type OtpService } from "./service";

/**
 * The static routes beside /v1/otp/{verificationId}: asked with GET or DELETE, they are a known path
 * with another method (405 with Allow, as request-context.ts answers it), not a verification's id.
 */
const STATIC_ROUTES = new Set(["send", "verify"]);
const notAnId = (id: string) => {
  if (STATIC_ROUTES.has(id)) throw new NotFoundError();
};

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
          // Masked until the service knows it: a caller may send any text, a phone number too.
          meta.verificationId = loggedId(body.verificationId, false);
          const {
            answer,
            test,
            loggedId: shown,
          } = await service.verify(body.verificationId, body.code, meta.requestId, meta.callerId);
          meta.verificationId = shown;
          meta.outcome = `${test ? "test_" : ""}${answer.verified ? "verified" : "not_verified"}`;
          return answer;
        },
        { parse: "json", body: "VerifyRequest", response: { 200: "VerifyResponse" }, detail: VERIFY_DETAIL },
      )
      .get(
        "/:verificationId",
        async ({ params, meta }) => {
          notAnId(params.verificationId);
          meta.verificationId = loggedId(params.verificationId, false);
          const answer = await service.status(params.verificationId, meta.callerId);
          meta.verificationId = params.verificationId;
          meta.outcome = answer.status;
          return answer;
        },
        { params: VerificationParams, response: { 200: "Verification" }, detail: STATUS_DETAIL },
      )
      .delete(
        "/:verificationId",
        async ({ params, meta, set }) => {
          notAnId(params.verificationId);
          meta.verificationId = loggedId(params.verificationId, false);
          await service.cancel(params.verificationId, meta.callerId);
          meta.verificationId = params.verificationId;
          meta.outcome = "canceled";
          set.status = 204;
        },
        { params: VerificationParams, detail: CANCEL_DETAIL },
      )
  );
}
