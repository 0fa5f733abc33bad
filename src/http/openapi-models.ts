import { t } from "elysia";
import { ERROR_CODES } from "../errors";

/** problem+json as documented in the OpenAPI document (RFC 9457 plus `code` and `requestId`). */
export const ProblemSchema = t.Object(
  {
    type: t.String({ examples: ["urn:otp-gateway:problem:invalid-request"] }),
    title: t.String({ examples: ["The request is not valid"] }),
    status: t.Integer({ examples: [400] }),
    detail: t.String({ examples: ["Some fields are missing or not valid."] }),
    code: t.Union(ERROR_CODES.map((c) => t.Literal(c)), { description: "Stable machine-readable code." }),
    requestId: t.String({ description: "Same as the X-Request-Id header.", examples: ["0d6c1f0a-2b11-4bb8-8f5e-3f0c7d1e9d1b"] }),
    errors: t.Optional(t.Array(t.Object({ pointer: t.String({ examples: ["/phone"] }), detail: t.String() }))),
  },
  { description: "An RFC 9457 problem, served as application/problem+json." },
);

const problem = (description: string) => ({ ...ProblemSchema, description });

/** Error answers every OTP route can give, for the `response` map of a route. */
export const commonProblems = {
  400: problem("Invalid input: malformed JSON, missing or wrong fields (`INVALID_REQUEST`), or a number that is not a valid mobile (`INVALID_PHONE`, `UNSUPPORTED_COUNTRY`). Nothing is sent."),
  413: problem("The body is larger than MAX_BODY_SIZE (`PAYLOAD_TOO_LARGE`)."),
  415: problem("The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)."),
  401: problem("GATEWAY_API_KEYS is set and the request has no valid `Authorization: Bearer <key>` (`UNAUTHORIZED`)."),
  429: problem("Too many requests from this address or for this phone (`RATE_LIMITED`); wait the seconds given in `Retry-After`. `RateLimit-Policy` and `RateLimit` follow the IETF draft."),
  500: problem("The gateway cannot use its SMS provider, e.g. the provider refused its API key (`GATEWAY_MISCONFIGURED`). Not the caller's fault."),
  502: problem("The SMS provider failed or sent an unreadable answer after retries (`UPSTREAM_ERROR`)."),
  503: problem("The SMS provider cannot take requests now, e.g. the account is out of credit (`PROVIDER_UNAVAILABLE`), or the gateway's store (Redis) does not answer, so nothing was sent (`STORE_UNAVAILABLE`)."),
  504: problem("The SMS provider did not answer within UPSTREAM_TIMEOUT (`UPSTREAM_TIMEOUT`)."),
};
