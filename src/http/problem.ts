import type { ErrorCode, FieldError } from "../errors";

/** The body of every error answer (RFC 9457 problem details plus a stable code). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  instance?: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Status and title of each code. Exhaustive: a new code does not compile until it is mapped. */
export function describeCode(code: ErrorCode): { status: number; title: string } {
  switch (code) {
    case "INVALID_REQUEST":
      return { status: 400, title: "The request is not valid" };
    case "INVALID_PHONE":
      return { status: 400, title: "The phone number is not a valid mobile number" };
    case "UNSUPPORTED_COUNTRY":
      return { status: 400, title: "The phone number's country is not supported" };
    case "UNAUTHORIZED":
      return { status: 401, title: "A valid API key is required" };
    case "COUNTRY_NOT_ALLOWED":
      return { status: 403, title: "Sending to this country is not allowed" };
    case "NOT_FOUND":
      return { status: 404, title: "No such route" };
    case "IDEMPOTENCY_CONFLICT":
      return { status: 409, title: "The Idempotency-Key was used with different data" };
    case "IDEMPOTENCY_IN_PROGRESS":
      return { status: 409, title: "A request with this Idempotency-Key is still in progress" };
    case "PAYLOAD_TOO_LARGE":
      return { status: 413, title: "The request body is too large" };
    case "UNSUPPORTED_MEDIA_TYPE":
      return { status: 415, title: "The request body must be application/json" };
    case "RATE_LIMITED":
      return { status: 429, title: "Too many requests" };
    case "GATEWAY_MISCONFIGURED":
      return { status: 500, title: "The gateway is misconfigured" };
    case "INTERNAL_ERROR":
      return { status: 500, title: "Internal error" };
    case "UPSTREAM_ERROR":
      return { status: 502, title: "The SMS provider failed" };
    case "PROVIDER_UNAVAILABLE":
      return { status: 503, title: "The SMS provider cannot take requests now" };
    case "STORE_UNAVAILABLE":
      return { status: 503, title: "The gateway's store is unavailable" };
    case "UPSTREAM_TIMEOUT":
      return { status: 504, title: "The SMS provider did not answer in time" };
  }
}

/** Default `detail` when the thrower gave none: the same text for every caller. */
const DEFAULT_DETAIL: Partial<Record<ErrorCode, string>> = {
  GATEWAY_MISCONFIGURED: "The gateway cannot use its SMS provider; its operators have been alerted.",
  PROVIDER_UNAVAILABLE: "Sending is paused on the provider's side; try again later.",
  RATE_LIMITED: "Too many requests; wait for the time given in Retry-After.",
  STORE_UNAVAILABLE: "The gateway cannot check its limits right now, so nothing was sent; try again shortly.",
  UNAUTHORIZED: "Send Authorization: Bearer <key> with a key this gateway accepts.",
  IDEMPOTENCY_IN_PROGRESS: "Another request with this Idempotency-Key is being processed; retry after it finishes.",
  INTERNAL_ERROR: "An unexpected error occurred.",
};

const problemTypes = new Map<ErrorCode, string>();
const problemType = (code: ErrorCode) => {
  let type = problemTypes.get(code);
  if (!type) problemTypes.set(code, (type = `urn:otp-gateway:problem:${code.toLowerCase().replaceAll("_", "-")}`));
  return type;
};

export function problemFor(
  code: ErrorCode,
  requestId: string,
  options: { detail?: string; errors?: FieldError[]; instance?: string } = {},
): Problem {
  const { status, title } = describeCode(code);
  const problem: Problem = { type: problemType(code), title, status, detail: options.detail ?? DEFAULT_DETAIL[code] ?? title, code, requestId };
  if (options.instance) problem.instance = options.instance;
  if (options.errors?.length) problem.errors = options.errors;
  return problem;
}

/**
 * The answer for a problem. `headers` is the caller's own object: the content
 * type and X-Request-Id are added to it, not copied with it (a refused flood
 * makes one of these per request).
 */
export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return problemAnswer(problem.status, problemJson(problem), problem.requestId, headers);
}

function problemAnswer(status: number, body: string, requestId: string, headers: Record<string, string>): Response {
  headers["content-type"] = PROBLEM_CONTENT_TYPE;
  headers["x-request-id"] = requestId;
  return new Response(body, { status, headers });
}

/** Everything of a default problem's JSON before the request id, by code (the id is its last field). */
const defaultHeads = new Map<ErrorCode, string>();

/**
 * A problem's JSON. One with the default detail and no field errors is made
 * from a prefix written once per code, with the request id put in: the guard's
 * refusals are all of this kind.
 */
function problemJson(problem: Problem): string {
  if (problem.instance || problem.errors || problem.detail !== (DEFAULT_DETAIL[problem.code] ?? problem.title)) return JSON.stringify(problem);
  let head = defaultHeads.get(problem.code);
  if (head === undefined) {
    const empty = JSON.stringify(problemFor(problem.code, ""));
    head = empty.slice(0, -'""}'.length);
    defaultHeads.set(problem.code, head);
  }
  return `${head}${JSON.stringify(problem.requestId)}}`;
}
