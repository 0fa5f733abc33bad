import type { ErrorCode } from "../errors";

/** What the HTTP edge says about one error code. */
export interface CodeFacts {
  status: number;
  /** The problem's `title`: one short sentence per code. */
  title: string;
  /** The problem's `detail` when the thrower gave none; default: the title. */
  detail?: string;
  /** When a caller meets it (Markdown): docs/errors.md's table and the OpenAPI descriptions. */
  when: string;
  /** What the caller should do about it (Markdown): the problem's page at /problems/<code>. */
  action: string;
}

/**
 * Every error code's status and texts, in one exhaustive table: a new code in
 * `ERROR_CODES` does not compile until it is described here. The problem
 * builder, the OpenAPI document and docs/errors.md's table all read it.
 */
export const CODE_FACTS = {
  INVALID_REQUEST: {
    status: 400,
    title: "The request is not valid",
    when: "malformed JSON, wrong or missing fields, bad `Idempotency-Key`; nothing is sent",
    action:
      "Fix the request: `errors` points at each field that is wrong. Retrying it unchanged fails the same way.",
  },
  INVALID_PHONE: {
    status: 400,
    title: "The phone number is not a valid mobile number",
    when: "not a valid mobile number (ours, or the upstream's 400)",
    action:
      "Ask the user for a mobile number in E.164 form (`+919876543210`); landlines and made-up numbers are refused.",
  },
  UNSUPPORTED_COUNTRY: {
    status: 400,
    title: "The phone number's country is not supported",
    when: "the upstream refused the country",
    action: "Offer another way to sign in for this country; the SMS provider does not deliver there.",
  },
  UNAUTHORIZED: {
    status: 401,
    title: "A valid API key is required",
    detail: "Send Authorization: Bearer <key> with a key this gateway accepts.",
    when: "`GATEWAY_API_KEYS` is set and no valid `Authorization: Bearer` key came",
    action:
      "Send `Authorization: Bearer <key>` with a key from the gateway's `GATEWAY_API_KEYS` (ask its operators).",
  },
  COUNTRY_NOT_ALLOWED: {
    status: 403,
    title: "Sending to this country is not allowed",
    when: "the number's country is not in `ALLOWED_COUNTRIES`",
    action:
      "This gateway sends only to the countries its operators chose (`ALLOWED_COUNTRIES`); offer another way to sign in.",
  },
  DESTINATION_BLOCKED: {
    status: 403,
    title: "Sending to this number is paused",
    detail: "This gateway is not sending codes to this number right now; try again later.",
    when: "the pumping guard blocked the number's prefix (its codes are not being verified); nothing was sent",
    action:
      "Try again later, or offer another way to sign in; if a real user is affected, the operators can lift the block.",
  },
  NOT_FOUND: {
    status: 404,
    title: "No such route",
    when: "no such route",
    action: "Check the path: the API is `POST /v1/otp/send` and `POST /v1/otp/verify`.",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: "This route does not take that method",
    when: "a known path with another method (`GET /v1/otp/send`); `Allow` lists the methods it takes",
    action: "Use a method from the `Allow` header (the OTP routes take POST).",
  },
  VERIFICATION_NOT_FOUND: {
    status: 404,
    title: "No such verification",
    detail: "This gateway knows no verification with this id for this caller.",
    when: "`GET` or `DELETE /v1/otp/{verificationId}` of an id never issued, another caller's, or forgotten (`VERIFICATION_KEEP` after its code's expiry)",
    action:
      "Use the `verificationId` of a send made with the same caller key, within `VERIFICATION_KEEP` of its expiry; send a new code otherwise.",
  },
  VERIFICATION_ENDED: {
    status: 409,
    title: "The verification has already ended",
    when: "`DELETE /v1/otp/{verificationId}` of a verification already verified, canceled, failed or expired",
    action: "Nothing to cancel: its code can no longer verify. `GET` it to see how it ended.",
  },
  IDEMPOTENCY_CONFLICT: {
    status: 409,
    title: "The Idempotency-Key was used with different data",
    detail: "This Idempotency-Key was used for another phone number.",
    when: "`Idempotency-Key` reused with another phone",
    action: "Use a new `Idempotency-Key` for a new phone number; a key belongs to one send.",
  },
  IDEMPOTENCY_RETRIES_EXHAUSTED: {
    status: 409,
    title: "This Idempotency-Key was retried as often as it may be",
    detail: "Sends with this Idempotency-Key failed and were retried as often as the gateway allows.",
    when: "a send with this `Idempotency-Key` failed (5xx, timeout) and was retried `IDEMPOTENCY_RETRIES` times",
    action:
      "The code may have been sent by an earlier attempt: let the user try it. To send a new code, use a new " +
      "`Idempotency-Key` (a new send, counted as one).",
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    title: "A request with this Idempotency-Key is still in progress",
    detail: "Another request with this Idempotency-Key is being processed; retry after it finishes.",
    when: "a request with this `Idempotency-Key` is still running",
    action: "Wait a moment and retry with the same key: you then get the first request's answer.",
  },
  CLIENT_CLOSED_REQUEST: {
    status: 499,
    title: "The connection closed before the code was sent",
    detail: "The connection closed before the code was sent; nothing was sent.",
    when:
      "the client's connection closed before the upstream was called (a client that gave up, or one that wrote a " +
      "second request on the connection before the first was answered, which the server answers by closing it); " +
      "nothing was sent, no one reads this answer",
    action:
      "Send again, one request at a time on a connection (no HTTP/1.1 pipelining): nothing was sent and nothing was counted.",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: "The request body is too large",
    when: "body over `MAX_BODY_SIZE` (declared or streamed)",
    action: "Send only the documented fields; a send or verify body is a few dozen bytes.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: "The request body must be application/json",
    when: "body is not JSON",
    action: "Send the body as JSON with `Content-Type: application/json`.",
  },
  RATE_LIMITED: {
    status: 429,
    title: "Too many requests",
    detail: "Too many requests; wait for the time given in Retry-After.",
    when:
      "a gateway limit (per IP, per phone, per verify) or the upstream's; `Retry-After` in whole seconds, " +
      "`RateLimit-Policy` and `RateLimit` as in the IETF draft",
    action:
      "Wait the seconds in `Retry-After` before trying again; tell the user when they may ask for a new code.",
  },
  SEND_BUDGET_EXHAUSTED: {
    status: 503,
    title: "Sending is paused: the gateway's send budget is used up",
    detail:
      "This gateway has sent as many codes as its operators allow for now; try again after Retry-After.",
    when: "a send budget (`SEND_BUDGETS`) is used up; nothing was sent; `Retry-After` says when one frees",
    action:
      "Retry after `Retry-After`; the operators have been alerted. Nothing was sent and nothing was charged.",
  },
  GATEWAY_MISCONFIGURED: {
    status: 500,
    title: "The gateway is misconfigured",
    detail: "The gateway cannot use its SMS provider; its operators have been alerted.",
    when: "the upstream refused our API key; not the caller's fault",
    action: "Nothing to fix on your side; retry later. The operators have been alerted.",
  },
  INTERNAL_ERROR: {
    status: 500,
    title: "Internal error",
    detail: "An unexpected error occurred.",
    when: "a bug; logged with its cause",
    action: "Retry later; if it persists, give the operators the `requestId`.",
  },
  UPSTREAM_ERROR: {
    status: 502,
    title: "The SMS provider failed",
    when: "the upstream failed after retries, or sent an unreadable answer",
    action: "Retry with the same `Idempotency-Key`: no second SMS goes out if the first one did.",
  },
  PROVIDER_UNAVAILABLE: {
    status: 503,
    title: "The SMS provider cannot take requests now",
    detail: "Sending is paused on the provider's side; try again later.",
    when: "the upstream cannot send now (no balance)",
    action: "Retry later; the operators have been alerted.",
  },
  STORE_UNAVAILABLE: {
    status: 503,
    title: "The gateway's store is unavailable",
    detail: "The gateway cannot check its limits right now, so nothing was sent; try again shortly.",
    when: "Redis did not answer within `REDIS_COMMAND_TIMEOUT`; nothing was sent",
    action: "Retry shortly (with the same `Idempotency-Key` if the answer said the code may have been sent).",
  },
  UPSTREAM_TIMEOUT: {
    status: 504,
    title: "The SMS provider did not answer in time",
    when: "no answer within `UPSTREAM_TIMEOUT`",
    action:
      "Retry with the same `Idempotency-Key`: the code may have been sent, and the key prevents a second SMS.",
  },
} as const satisfies Record<ErrorCode, CodeFacts>;

/** docs/errors.md's table (test/docs.test.ts keeps the page equal to it). */
export function errorsMarkdown(): string {
  const facts: [string, CodeFacts][] = Object.entries(CODE_FACTS);
  const rows = facts.map(([code, f]) => `| \`${code}\` | ${f.status} | ${f.when} |`);
  return ["| code | status | when |", "|---|---|---|", ...rows].join("\n");
}
