import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import { ERROR_CODES, type ErrorCode } from "../errors";
import { problemFor } from "./problem";

/** problem+json as documented (RFC 9457 plus `code` and `requestId`): `components.schemas.Problem`. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({
      description:
        "A page about this problem, relative to the gateway (`/problems/rate-limited`): what happened, what to do.",
      examples: ["/problems/invalid-request"],
    }),
    title: Type.String({
      description: "One short sentence per code.",
      examples: ["The request is not valid"],
    }),
    status: Type.Integer({ description: "The HTTP status, repeated.", examples: [400] }),
    detail: Type.String({
      description: "What went wrong with this request.",
      examples: ["Some fields are missing or not valid."],
    }),
    code: Type.Union(
      ERROR_CODES.map((c) => Type.Literal(c)),
      { description: "Stable machine-readable code: branch on this, not on `title` or `detail`." },
    ),
    requestId: Type.String({
      description: "Same as the X-Request-Id header: give it to the operators when asking about a request.",
      examples: ["0d6c1f0a-2b11-4bb8-8f5e-3f0c7d1e9d1b"],
    }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.String({ description: "JSON pointer to the field.", examples: ["/phone"] }),
          detail: Type.String({ description: "What is wrong with it (the value sent is never echoed)." }),
        }),
        { description: "With `INVALID_REQUEST`: each invalid field." },
      ),
    ),
  },
  { description: "An RFC 9457 problem, served as application/problem+json." },
);

/**
 * A string that is one of `values`, for a model's field: Elysia's `t.UnionEnum`, written
 * `{ type: "string", enum }`. Not a union of literals, which @elysiajs/openapi rewrites into
 * this form and drops its description on the way (test/http/openapi-plugin.test.ts). Without
 * UnionEnum's `default`: it only feeds Elysia's messages about invalid input, and an answer's
 * field has no default.
 */
export function literals<const T extends readonly [string, ...string[]]>(
  values: T,
  options: { description?: string } = {},
) {
  const { default: _, ...schema } = t.UnionEnum(values, options);
  return schema;
}

const EXAMPLE_REQUEST_ID = "0d6c1f0a-2b11-4bb8-8f5e-3f0c7d1e9d1b";

/** The problem a caller gets for `code`, as an example (the default detail; a field error for INVALID_REQUEST). */
export function problemExample(code: ErrorCode) {
  const errors = code === "INVALID_REQUEST" ? [{ pointer: "/phone", detail: "Expected string" }] : undefined;
  const detail = code === "INVALID_REQUEST" ? "Some fields are missing or not valid." : undefined;
  return problemFor(code, EXAMPLE_REQUEST_ID, { detail, errors });
}

/** Every header the gateway sends on a documented answer: `components.headers`. */
export const HEADERS = {
  "X-Request-Id": {
    description:
      "The request id: the caller's X-Request-Id when it is sane (1–128 of A-Z a-z 0-9 . _ : -), else a generated UUID.",
    required: true,
    schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
    example: EXAMPLE_REQUEST_ID,
  },
  "Retry-After": {
    description: "Whole seconds to wait before trying again.",
    required: true,
    schema: { type: "integer", minimum: 1 },
    example: 42,
  },
  RateLimit: {
    description:
      "The limit that refused the request, as an RFC 8941 list (IETF draft-ietf-httpapi-ratelimit-headers): " +
      "`r` requests remaining, `t` seconds until one frees. Absent when the upstream refused.",
    schema: { type: "string", pattern: '^"[a-z0-9-]+";r=[0-9]+;t=[0-9]+$' },
    example: '"ip-1m";r=0;t=42',
  },
  "RateLimit-Policy": {
    description:
      "Every window of that limit: `q` requests per `w` seconds. Absent when the upstream refused.",
    schema: {
      type: "string",
      pattern: '^"[a-z0-9-]+";q=[0-9]+;w=[0-9]+(, "[a-z0-9-]+";q=[0-9]+;w=[0-9]+)*$',
    },
    example: '"ip-1m";q=5;w=60, "ip-10m";q=20;w=600, "ip-1h";q=50;w=3600',
  },
  "Idempotent-Replayed": {
    description:
      "`true` when this is the stored answer of an earlier send with the same Idempotency-Key (no SMS went out).",
    // Mutable: the plugin's type for `documentation` takes no readonly array.
    schema: { type: "string", enum: ["true"] as string[] },
    example: "true",
  },
  "WWW-Authenticate": {
    description: "How to authenticate: `Bearer` (caller keys), or Basic and Bearer (operator routes).",
    required: true,
    schema: { type: "string" },
    example: 'Bearer realm="otp-gateway"',
  },
} as const;
export type HeaderName = keyof typeof HEADERS;

export const SECURITY_SCHEMES = {
  callerKey: {
    type: "http",
    scheme: "bearer",
    description:
      "A caller key from GATEWAY_API_KEYS, as `Authorization: Bearer <key>`. Needed only when the gateway runs with " +
      "GATEWAY_API_KEYS; without it the OTP operations take no key.",
  },
  adminToken: {
    type: "http",
    scheme: "bearer",
    description:
      "The gateway's ADMIN_TOKEN, as `Authorization: Bearer <token>` (the admin routes exist only when it is set).",
  },
} as const;
