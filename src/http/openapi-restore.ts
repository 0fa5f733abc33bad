import type { DocumentDecoration } from "elysia";

type Json = Record<string, unknown>;
type Content = Record<string, Json>;
interface ResponseObject extends Json {
  content?: Content;
}
interface Parameter extends Json {
  name: string;
  in: string;
}
interface Operation extends Json {
  parameters?: unknown[];
  responses?: Record<string, ResponseObject>;
}
/** The part of a document this step reads and writes. */
export interface PathsDocument {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Json> };
}
/** The part of an Elysia route this step reads (`app.routes`). */
export interface DocumentedRoute {
  method: string;
  path: string;
  hooks?: { detail?: DocumentDecoration };
}

/**
 * What @elysiajs/openapi (1.4.16) drops of a route's `detail`, put back. It makes each
 * operation as `{ ...detail }`, then replaces `responses` with what it derives from the
 * route's `response` schemas and `parameters` with what it derives from `params` and
 * `headers`. So, without this step:
 *   - the responses lose the detail's descriptions, headers and examples, and the
 *     problem answers (problemResponses, openapi-detail.ts) altogether;
 *   - a parameter loses its description and example, and a header its spelling
 *     (Elysia's headers schemas are lower case: `idempotency-key`).
 * This merges the detail back into what the plugin derived: a response per status and
 * per media type (the derived schema stays), a parameter by `in` and name (any case).
 * It adds nothing a route's detail does not say. test/http/openapi-plugin.test.ts fails
 * once the plugin keeps them: then this step can go.
 */
export function restoreRouteDetail<T extends PathsDocument>(
  document: T,
  routes: readonly DocumentedRoute[],
): T {
  for (const route of routes) {
    const detail = route.hooks?.detail;
    // The plugin's spelling of a path: `/admin/blocks/:prefix` is `/admin/blocks/{prefix}`.
    const operation = document.paths?.[route.path.replace(/:([^/]+)/g, "{$1}")]?.[route.method.toLowerCase()];
    if (!detail || !operation) continue;
    if (detail.responses) {
      operation.responses = mergeResponses(operation.responses ?? {}, detail.responses as Json);
    }
    if (detail.parameters) {
      operation.parameters = mergeParameters(operation.parameters ?? [], detail.parameters);
    }
  }
  return document;
}

function mergeResponses(
  derived: Record<string, ResponseObject>,
  detail: Json,
): Record<string, ResponseObject> {
  const merged = { ...derived };
  for (const [status, given] of Object.entries(detail) as [string, ResponseObject][]) {
    const base = derived[status];
    if (!base) {
      merged[status] = given;
      continue;
    }
    const content: Content = { ...base.content };
    for (const [type, media] of Object.entries(given.content ?? {})) {
      content[type] = { ...content[type], ...media };
    }
    merged[status] = { ...base, ...given, ...(base.content || given.content ? { content } : {}) };
  }
  return merged;
}

function mergeParameters(derived: unknown[], detail: unknown[]): unknown[] {
  const key = (p: Parameter) => `${p.in} ${p.name.toLowerCase()}`;
  const isParameter = (p: unknown): p is Parameter =>
    typeof p === "object" && p !== null && "name" in p && "in" in p;
  const given = new Map(detail.filter(isParameter).map((p) => [key(p), p]));
  const merged = derived.map((p) => {
    if (!isParameter(p) || !given.has(key(p))) return p;
    const mine = given.get(key(p));
    given.delete(key(p));
    return { ...p, ...mine };
  });
  return [...merged, ...given.values(), ...detail.filter((p) => !isParameter(p))];
}

/**
 * The document's component schemas without the `$id` Elysia's models carry
 * (`#/components/schemas/SendRequest`): an `$id` with a fragment is not valid JSON Schema, and
 * Swagger UI resolves every `$ref` inside such a schema against it, fails ("Could not resolve
 * reference"), and shows no example body. test/browser/swagger.test.ts fails with them.
 */
export function withoutSchemaIds<T extends PathsDocument>(document: T): T {
  for (const schema of Object.values(document.components?.schemas ?? {})) delete schema.$id;
  return document;
}
