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
  if (problem.instance || problem.errors || problem.detail !== defaultDetail(problem.code)) return JSON.stringify(problem);
  let head = defaultHeads.get(problem.code);
  if (head === undefined) {
    const empty = JSON.stringify(problemFor(problem.code, ""));
    head = empty.slice(0, -'""}'.length);
    defaultHeads.set(problem.code, head);
  }
  return `${head}${JSON.stringify(problem.requestId)}}`;
}
