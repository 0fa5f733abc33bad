import { Elysia } from "elysia";
import { GatewayError } from "../errors";
import type { Metrics } from "../lib/metrics";
import { checkDeclaredLength, parseJsonBody } from "./json-body";
import { pathOf } from "./path";
import { problemResponse } from "./problem";
import { problemHeaders, problemOf } from "./problem-mapping";
import type { RequestMetas } from "./request-meta";

export interface RequestContextOptions {
  metas: RequestMetas;
  metrics: Metrics;
  /** Largest accepted body in bytes (MAX_BODY_SIZE). */
  maxBodySize: number;
}

/**
 * Cross-cutting HTTP behaviour, wired as global hooks: the request id on every
 * answer, the body size limit and the strict JSON parser (json-body.ts), the
 * request's state for the handlers (`meta`), and the one place where thrown
 * errors become problem+json answers (problem-mapping.ts).
 */
export function requestContext({ metas, metrics, maxBodySize }: RequestContextOptions) {
  return new Elysia({ name: "request-context" })
    .onRequest(({ request, set }) => {
      set.headers["x-request-id"] = metas.of(request).requestId;
      checkDeclaredLength(request, maxBodySize);
    })
    .onParse({ as: "global" }, async ({ request, contentType }) => await parseJsonBody(request, contentType, maxBodySize))
    .derive({ as: "global" }, ({ request }) => ({ meta: metas.of(request) }))
    .onError({ as: "global" }, ({ code, error, request }) => {
      const meta = metas.of(request);
      // Elysia wraps what a parser throws in its ParseError; the cause is ours.
      const wrapped = !(error instanceof GatewayError) && error instanceof Error && error.cause instanceof GatewayError;
      const cause = wrapped ? (error.cause as GatewayError) : error;
      const problem = problemOf(code, cause, meta);
      meta.problemStatus = problem.status;
      meta.problemCode = problem.code;
      if (cause instanceof GatewayError && cause.rateLimit) metrics.rateLimited(cause.rateLimit.policy.scope);
      if (problem.code === "COUNTRY_NOT_ALLOWED") metrics.rateLimited("country");
      // No route, so no mapResponse hook (where requestLog writes the line): write it here.
      if (code === "NOT_FOUND") metas.finish(meta, request.method, pathOf(request.url), problem.status);
      return problemResponse(problem, cause instanceof GatewayError ? problemHeaders(cause) : {});
    })
    .as("global");
}

export type RequestContext = ReturnType<typeof requestContext>;
