import type { DocumentDecoration } from "elysia";
import type { ErrorCode } from "../errors";
import { CODE_FACTS } from "./error-codes";
import { type HeaderName, problemExample } from "./openapi-models";

/** A route's `detail`: an OpenAPI Operation Object, read by @elysiajs/openapi (src/http/openapi.ts). */
export type OperationDetail = DocumentDecoration &
  Required<Pick<DocumentDecoration, "operationId" | "summary" | "tags">>;
type Responses = NonNullable<DocumentDecoration["responses"]>;
type Examples = Record<string, { summary: string; value: unknown }>;
type Security = NonNullable<DocumentDecoration["security"]>;

/** Who may call an operation: callers (a key only when GATEWAY_API_KEYS is set), the operator, or anyone. */
export const SECURITY: Record<"caller" | "admin" | "none", Security> = {
  // Optional: needed only when the gateway runs with GATEWAY_API_KEYS.
  caller: [{ callerKey: [] }, {}],
  admin: [{ adminToken: [] }],
  none: [],
};

const ref = (kind: "schemas" | "headers", name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** The headers of an answer: X-Request-Id on every one, then those named. */
function headersOf(names: readonly HeaderName[] = []) {
  return Object.fromEntries(["X-Request-Id", ...names].map((name) => [name, ref("headers", name)]));
}

/**
 * A JSON answer of the route: what it means, its headers and examples. Its schema is
 * the route's own `response` model, which the plugin puts in the content.
 */
export function answer(
  description: string,
  options: { headers?: readonly HeaderName[]; examples?: Examples } = {},
) {
  return {
    description,
    headers: headersOf(options.headers),
    ...(options.examples ? { content: { "application/json": { examples: options.examples } } } : {}),
  };
}

/** Headers a problem answer of this status carries besides X-Request-Id. */
function problemHeaders(status: number, codes: readonly ErrorCode[]): HeaderName[] {
  if (status === 429) return ["Retry-After", "RateLimit-Policy", "RateLimit"];
  if (status === 401) return ["WWW-Authenticate"];
  if (codes.includes("SEND_BUDGET_EXHAUSTED")) return ["Retry-After"];
  return [];
}

function problemResponse(status: number, codes: readonly ErrorCode[]) {
  const description = codes.map((code) => `\`${code}\`: ${CODE_FACTS[code].when}.`).join(" ");
  // The subset of codes this status can carry, so that a generated client types `code` narrowly.
  const schema = {
    allOf: [
      ref("schemas", "Problem"),
      { type: "object", required: ["code"], properties: { code: { enum: [...codes] } } },
    ],
  };
  const examples = Object.fromEntries(
    codes.map((code) => [code, { summary: CODE_FACTS[code].title, value: problemExample(code) }]),
  );
  return {
    description,
    headers: headersOf(problemHeaders(status, codes)),
    content: { "application/problem+json": { schema, examples } },
  };
}

/**
 * The problem answers of an operation that can fail with `codes`, one per status (in
 * order): `application/problem+json`, `code` narrowed to that status's codes, an
 * example and a line of text per code, and the headers that status carries. From the
 * code table (error-codes.ts), for a route's `detail.responses`.
 */
export function problemResponses(codes: readonly ErrorCode[]): Responses {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    byStatus.set(CODE_FACTS[code].status, [...(byStatus.get(CODE_FACTS[code].status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, group]) => [status, problemResponse(status, group)]),
  ) as Responses;
}
