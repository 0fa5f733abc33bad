import type { TSchema } from "@sinclair/typebox";
import type { ErrorCode } from "../errors";
import { CODE_FACTS } from "./error-codes";
import { HEADERS, type HeaderName, ProblemSchema, problemExample, SECURITY_SCHEMES } from "./openapi-models";

/** Who may call an operation: anyone (caller keys when GATEWAY_API_KEYS is set), the operator, or anyone at all. */
export type Security = "caller" | "admin" | "none";

/** A named schema: it becomes `components.schemas[name]`, and operations refer to it. */
export type Named = readonly [name: string, schema: TSchema];

/** One answer of an operation that is not a problem. */
export interface AnswerDoc {
  description: string;
  schema: Named;
  headers?: readonly HeaderName[];
  examples?: Record<string, { summary: string; value: unknown }>;
}

/**
 * One operation as the OpenAPI document describes it, written next to its route
 * (the modules' model.ts) from the same TypeBox schemas the route validates with;
 * test/http/openapi.test.ts keeps the routes and these in step.
 */
export interface OperationDoc {
  method: "get" | "post" | "put" | "delete";
  /** The route's path as Elysia spells it (`/admin/blocks/:prefix`). */
  path: string;
  operationId: string;
  tag: "OTP" | "Health" | "Admin";
  summary: string;
  description: string;
  security: Security;
  body?: Named;
  /** The route's path parameters (a t.Object). */
  params?: TSchema;
  headerParams?: Record<string, { schema: TSchema; description: string; example: string }>;
  answers: Record<number, AnswerDoc>;
  /** Every problem code the operation can answer; grouped by status in the document. */
  errors: readonly ErrorCode[];
}

const ref = (kind: "schemas" | "headers", name: string) => ({ $ref: `#/components/${kind}/${name}` });
/** A TypeBox schema as plain JSON Schema (its symbol keys dropped). */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema));

/** The headers of an answer: X-Request-Id on every one, then those named. */
function headersOf(names: readonly HeaderName[] = []): Record<string, unknown> {
  return Object.fromEntries(["X-Request-Id", ...names].map((name) => [name, ref("headers", name)]));
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
    allOf: [ref("schemas", "Problem"), { type: "object", required: ["code"], properties: { code: { enum: [...codes] } } }],
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

const SECURITY: Record<Security, unknown[]> = {
  // Optional: needed only when the gateway runs with GATEWAY_API_KEYS.
  caller: [{ callerKey: [] }, {}],
  admin: [{ adminToken: [] }],
  none: [],
};

/** `paths` and `components` of the document, from the operations of the routes that are mounted. */
export function contract(operations: readonly OperationDoc[]) {
  const schemas: Record<string, unknown> = { Problem: plain(ProblemSchema) };
  const name = ([key, schema]: Named) => {
    schemas[key] ??= plain(schema);
    return ref("schemas", key);
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = op.path.replace(/:([A-Za-z]+)/g, "{$1}");
    const parameters = [
      ...Object.entries((op.params as { properties?: Record<string, TSchema> } | undefined)?.properties ?? {}).map(
        ([param, schema]) => ({ name: param, in: "path", required: true, schema: plain(schema) }),
      ),
      ...Object.entries(op.headerParams ?? {}).map(([header, p]) => ({
        name: header,
        in: "header",
        required: false,
        description: p.description,
        schema: plain(p.schema),
        example: p.example,
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(op.answers)) {
      const media = { schema: name(answer.schema), ...(answer.examples ? { examples: answer.examples } : {}) };
      responses[status] = {
        description: answer.description,
        headers: headersOf(answer.headers),
        content: { "application/json": media },
      };
    }
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of op.errors) byStatus.set(CODE_FACTS[code].status, [...(byStatus.get(CODE_FACTS[code].status) ?? []), code]);
    for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) responses[status] = problemResponse(status, codes);
    paths[path] ??= {};
    paths[path][op.method] = {
      operationId: op.operationId,
      tags: [op.tag],
      summary: op.summary,
      description: op.description,
      security: SECURITY[op.security],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: name(op.body) } } } } : {}),
      responses,
    };
  }
  // The schemes in use: the admin token only where admin routes are mounted.
  const used = new Set(operations.map((op) => op.security));
  const securitySchemes = Object.fromEntries(
    Object.entries(SECURITY_SCHEMES).filter(([scheme]) => used.has(scheme === "callerKey" ? "caller" : "admin")),
  );
  return { paths, components: { schemas, headers: HEADERS, securitySchemes } };
}
