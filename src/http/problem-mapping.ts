import { type FieldError, GatewayError } from "../errors";
import { AuthChallenge, BEARER_CHALLENGE } from "./auth";
import { type Problem, problemFor } from "./problem";
import { rateLimitHeaders } from "./rate-headers";
import type { RequestMeta } from "./request-meta";

/**
 * What any thrown error becomes: a GatewayError its own problem; Elysia's
 * validation, parse and routing errors theirs; anything else INTERNAL_ERROR,
 * logged with its cause (the caller sees no detail of it).
 */
export function problemOf(elysiaCode: string | number, error: unknown, meta: RequestMeta): Problem {
  if (error instanceof GatewayError) {
    return problemFor(error.code, meta.requestId, { detail: error.detail, errors: error.fieldErrors });
  }
  switch (elysiaCode) {
    case "VALIDATION":
      return problemFor("INVALID_REQUEST", meta.requestId, {
        detail: "Some fields are missing or not valid.",
        errors: fieldErrors(error),
      });
    case "PARSE":
      return problemFor("INVALID_REQUEST", meta.requestId, { detail: "The body could not be parsed." });
    case "NOT_FOUND":
      return problemFor("NOT_FOUND", meta.requestId, { detail: "No route matches this method and path." });
    default:
      meta.log.error("unhandled error", {
        code: String(elysiaCode),
        error: error instanceof Error ? error : String(error),
      });
      return problemFor("INTERNAL_ERROR", meta.requestId);
  }
}

/** Headers an error answer carries besides the problem body. */
export function problemHeaders(error: GatewayError): Record<string, string> {
  if (error.rateLimit) return rateLimitHeaders(error.rateLimit);
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  if (error.code === "UNAUTHORIZED") {
    headers["www-authenticate"] = error instanceof AuthChallenge ? error.challenge : BEARER_CHALLENGE;
  }
  return headers;
}

interface FieldSchema {
  pattern?: string;
  description?: string;
  examples?: unknown[];
}

/**
 * A field's error as a person reads it: for a string its pattern refused, what the field is and an
 * example (from the schema's own description), not the pattern; otherwise TypeBox's message.
 */
function inWords(schema: FieldSchema | undefined, message = "is not valid"): string {
  if (!schema?.pattern || !schema.description || !message.includes("to match")) return message;
  const example = schema.examples?.[0];
  return `Expected: ${schema.description}${example === undefined ? "" : ` For example ${JSON.stringify(example)}.`}`;
}

/** TypeBox's errors as JSON pointers with short messages; never echoes the value sent. */
function fieldErrors(error: unknown): FieldError[] {
  let all: { path?: string; message?: string; summary?: string; schema?: FieldSchema }[];
  try {
    // Elysia works the list out when asked; for an odd value that can throw: then no field list.
    all = (error as { all?: typeof all }).all ?? [];
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const item of all) {
    const pointer = item.path || "/";
    if (seen.has(pointer)) continue;
    seen.add(pointer);
    out.push({ pointer, detail: inWords(item.schema, item.message) });
  }
  return out.slice(0, 20);
}
