import { Elysia } from "elysia";
import { policyName } from "../domain/rate-policy";
import { GatewayError } from "../errors";
import type { Metrics } from "../observability/metrics";
import { checkDeclaredLength, parseJsonBody } from "./json-body";
import { pathOf } from "./path";
import { problemFor, problemResponse } from "./problem";
import { problemHeaders, problemOf } from "./problem-mapping";
import type { RequestMetas } from "./request-meta";

export interface RequestContextOptions {
  metas: RequestMetas;
  metrics: Metrics;
  /** Largest accepted body in bytes (MAX_BODY_SIZE). */
  maxBodySize: number;
  /** The methods a path takes (its `Allow`), or undefined for a path no route has. */
  allow: (path: string) => string | undefined;
}

/**
 * Cross-cutting HTTP behaviour, wired as global hooks: the request id on every
 * answer, the body size limit and the strict JSON parser (json-body.ts), the
 * request's state for the handlers (`meta`), and the one place where thrown
 * errors become problem+json answers (problem-mapping.ts).
 */
export function requestContext({ metas, metrics, maxBodySize, allow }: RequestContextOptions) {
  return new Elysia({ name: "request-context" })
    .onRequest(({ request, set }) => {
      const meta = metas.of(request);
      set.headers["x-request-id"] = meta.requestId;
      if (request.method === "OPTIONS") {
        // What a path takes (a CORS preflight was answered before this, by cors.ts).
        const path = pathOf(request.url);
        const methods = allow(path);
        if (methods) {
          metas.finish(meta, request.method, path, 204);
          return new Response(null, {
            status: 204,
            headers: { allow: methods, "x-request-id": meta.requestId },
          });
        }
      }
      checkDeclaredLength(request, maxBodySize);
    })
    .onParse({ as: "global" }, async ({ request }) => await parseJsonBody(request, maxBodySize))
    .derive({ as: "global" }, ({ request }) => ({ meta: metas.of(request) }))
    .onError({ as: "global" }, ({ code, error, request }) => {
      const meta = metas.of(request);
      const cause = ownCause(error);
      const path = pathOf(request.url);
      // A path some route has, asked with another method: 405 and what it takes.
      const methods = code === "NOT_FOUND" && !(error instanceof GatewayError) ? allow(path) : undefined;
      const problem = methods
        ? problemFor("METHOD_NOT_ALLOWED", meta.requestId, { detail: `This path takes ${methods}.` })
        : safeProblemOf(code, cause, meta);
      meta.problemStatus = problem.status;
      meta.problemCode = problem.code;
      if (cause instanceof GatewayError && cause.rule) meta.rule = cause.rule;
      else if (cause instanceof GatewayError && cause.rateLimit) {
        meta.rule = `limit:${policyName(cause.rateLimit.policy.scope, cause.rateLimit.decision.policy)}`;
      }
      countLimited(metrics, cause, problem.code);
      // Written here: an unknown route, or a refusal in onRequest (a declared oversize body),
      // never reaches mapResponse, where requestLog writes the line. Written once either way.
      metas.finish(meta, request.method, path, problem.status);
      if (methods) return problemResponse(problem, { allow: methods });
      return problemResponse(problem, cause instanceof GatewayError ? problemHeaders(cause) : {});
    })
    .as("global");
}

export type RequestContext = ReturnType<typeof requestContext>;

/** The error to answer for: Elysia wraps what a parser throws in its ParseError; the cause is ours. */
function ownCause(error: unknown): unknown {
  if (error instanceof GatewayError) return error;
  return error instanceof Error && error.cause instanceof GatewayError ? error.cause : error;
}

/** A refusal by one of the gateway's limits, or by ALLOWED_COUNTRIES, counts as rate limited. */
function countLimited(metrics: Metrics, cause: unknown, code: string): void {
  if (cause instanceof GatewayError && cause.rateLimit) metrics.rateLimited(cause.rateLimit.policy.scope);
  if (code === "COUNTRY_NOT_ALLOWED") metrics.rateLimited("country");
}

/**
 * problemOf that never throws: this hook is the last line, and an error thrown
 * here would reach Bun's own handler (a bare text answer, a stack on stderr).
 */
function safeProblemOf(...args: Parameters<typeof problemOf>): ReturnType<typeof problemOf> {
  try {
    return problemOf(...args);
  } catch {
    return problemFor("INTERNAL_ERROR", args[2].requestId);
  }
}
