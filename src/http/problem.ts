import type { ErrorCode, FieldError } from "../errors";
import { CODE_FACTS, type CodeFacts } from "./error-codes";

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

/** The `detail` of a problem whose thrower gave none: the same text for every caller. */
function defaultDetail(code: ErrorCode): string {
  const facts: CodeFacts = CODE_FACTS[code];
  return facts.detail ?? facts.title;
}

/** A code as its page's name: `RATE_LIMITED` is `rate-limited`. */
export const problemSlug = (code: ErrorCode) => code.toLowerCase().replaceAll("_", "-");

const problemTypes = new Map<ErrorCode, string>();
/** The problem's `type`: its page, served by the gateway (relative, so it resolves against the request's URL). */
const problemType = (code: ErrorCode) => {
  let type = problemTypes.get(code);
  if (!type) {
    type = `/problems/${problemSlug(code)}`;
    problemTypes.set(code, type);
  }
  return type;
};

export function problemFor(
  code: ErrorCode,
  requestId: string,
  options: { detail?: string; errors?: FieldError[]; instance?: string } = {},
): Problem {
  const { status, title } = CODE_FACTS[code];
  const problem: Problem = {
    type: problemType(code),
    title,
    status,
    detail: options.detail ?? defaultDetail(code),
    code,
    requestId,
  };
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

function problemAnswer(
  status: number,
  body: string,
  requestId: string,
  headers: Record<string, string>,
): Response {
  headers["content-type"] = PROBLEM_CONTENT_TYPE;
  headers["x-request-id"] = requestId;
  return new Response(body, { status, headers });
}

/**
 * The answer for a problem with its code's default detail, with `headers`
 * (which carry the problem's content type; Bun copies them) and X-Request-Id:
 * the guard's denials, made without a Problem object or a headers record.
 */
export function defaultProblemResponse(code: ErrorCode, requestId: string, headers: Headers): Response {
  const response = new Response(defaultProblemJson(code, requestId), {
    status: CODE_FACTS[code].status,
    headers,
  });
  response.headers.set("x-request-id", requestId);
  return response;
}

/** Everything of a default problem's JSON before the request id, by code (the id is its last field). */
const defaultHeads = new Map<ErrorCode, string>();

/** A default problem's JSON (no field errors, no instance): a prefix written once per code, with the request id put in. */
function defaultProblemJson(code: ErrorCode, requestId: string): string {
  let head = defaultHeads.get(code);
  if (head === undefined) {
    const empty = JSON.stringify(problemFor(code, ""));
    head = empty.slice(0, -'""}'.length);
    defaultHeads.set(code, head);
  }
  return `${head}${JSON.stringify(requestId)}}`;
}

/** A problem's JSON; one with the default detail and no field errors is made from its code's prefix. */
function problemJson(problem: Problem): string {
  if (problem.instance || problem.errors || problem.detail !== defaultDetail(problem.code)) {
    return JSON.stringify(problem);
  }
  return defaultProblemJson(problem.code, problem.requestId);
}
