import { Elysia, ElysiaCustomStatusResponse } from "elysia";
import { GatewayError, type ErrorCode, type FieldError } from "../errors";
import type { Metrics, RateLimitScope } from "../lib/metrics";
import { requestIdFrom } from "../lib/ids";
import type { LogFields, Logger } from "../lib/logger";
import { problemFor, problemResponse } from "./problem";
import { rateLimitHeaders } from "./rate-headers";

/** Per-request state: what the hooks and handlers learn, for the log line and the metrics. */
export class RequestMeta {
  readonly startedAt = performance.now();
  /** Masked phone, set by a handler for the request log line. */
  maskedPhone?: string;
  /** Status of a problem answer, which Elysia's `set.status` does not see. */
  problemStatus?: number;
  /** The client's address as the gateway decided it (see client-ip.ts). */
  clientIp?: string;
  /** Which caller key was accepted (a digest prefix), when GATEWAY_API_KEYS is set. */
  callerId?: string;
  /** What a send or verify came to (`sent`, `replayed`, `verified`, `not_verified`), for metrics. */
  outcome?: string;
  /** The code of a problem answer, for metrics. */
  problemCode?: ErrorCode;
  /** Whether the request line was written (it is written once). */
  finished = false;
  #log?: Logger;

  constructor(
    readonly requestId: string,
    private readonly logger: Logger,
  ) {}

  /** A logger bound to this request's id; made on first use, as most requests log only their request line. */
  get log(): Logger {
    return (this.#log ??= this.logger.child({ requestId: this.requestId }));
  }
}

/**
 * Per-request state made in onRequest, before Elysia derives its context, and
 * found again by later hooks. Keyed by the Request, so nothing outlives it.
 */
export class RequestMetas {
  readonly #metas = new WeakMap<Request, RequestMeta>();
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  of(request: Request): RequestMeta {
    let meta = this.#metas.get(request);
    if (!meta) {
      meta = new RequestMeta(requestIdFrom(request.headers.get("x-request-id")), this.logger);
      this.#metas.set(request, meta);
    }
    return meta;
  }

  /** The request log line and the outcome counters; called once per request, by requestLog or by the guard for the answers it gives itself. */
  finish(meta: RequestMeta, method: string, path: string, status: number): void {
    if (meta.finished) return;
    meta.finished = true;
    const outcome = meta.outcome ?? meta.problemCode?.toLowerCase() ?? "unknown";
    if (path === "/v1/otp/send") this.metrics.send(outcome);
    else if (path === "/v1/otp/verify") this.metrics.verify(outcome);
    const fields: LogFields = { requestId: meta.requestId, method, path, status, ms: Math.round((performance.now() - meta.startedAt) * 10) / 10 };
    if (meta.clientIp) fields.ip = meta.clientIp;
    if (meta.maskedPhone) fields.phone = meta.maskedPhone;
    this.logger.info("request", fields);
  }
}

export interface RequestContextOptions {
  metas: RequestMetas;
  metrics: Metrics;
  /** Largest accepted body in bytes (MAX_BODY_SIZE). */
  maxBodySize: number;
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/**
 * Cross-cutting HTTP behaviour, registered globally: request ids, the body size
 * limit, strict JSON parsing, and the one place where errors become
 * problem+json answers (the log line is requestLog's, but for an unknown route).
 */
export function requestContext({ metas, metrics, maxBodySize }: RequestContextOptions) {
  const metaOf = (request: Request) => metas.of(request);

  return new Elysia({ name: "request-context" })
    .onRequest(({ request, set }) => {
      const meta = metaOf(request);
      set.headers["x-request-id"] = meta.requestId;
      // Cheap refusal of a declared oversize body, before anything reads it.
      const declared = Number(request.headers.get("content-length") ?? "0");
      if (declared > maxBodySize) throw new GatewayError("PAYLOAD_TOO_LARGE", { detail: `The body may be at most ${maxBodySize} bytes.` });
    })
    .onParse({ as: "global" }, async ({ request, contentType }) => {
      if (!JSON_TYPE.test(contentType ?? "")) {
        throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", { detail: "Send the body as JSON with Content-Type: application/json." });
      }
      const text = await request.text();
      // A chunked body declares no length; check what actually came.
      if (Buffer.byteLength(text) > maxBodySize) {
        throw new GatewayError("PAYLOAD_TOO_LARGE", { detail: `The body may be at most ${maxBodySize} bytes.` });
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new GatewayError("INVALID_REQUEST", { detail: "The body is not valid JSON." });
      }
      // Elysia (1.4, outside production mode) formats a failed value into its
      // validation message with a template string; an object whose own `toString`
      // is not a function makes that throw, which would surface as a 500. No valid
      // body has such a key, so refuse it here. Found by the property tests.
      if (shadowsToString(body)) throw new GatewayError("INVALID_REQUEST", { detail: "The body has a field named toString." });
      return body;
    })
    .derive({ as: "global" }, ({ request }) => ({ meta: metaOf(request) }))
    .onError({ as: "global" }, ({ code, error, request }) => {
      const meta = metaOf(request);
      // Elysia wraps what a parser throws in its ParseError; the cause is ours.
      const cause = !(error instanceof GatewayError) && error instanceof Error && error.cause instanceof GatewayError ? error.cause : error;
      const problem = toProblem(code, cause, meta);
      meta.problemStatus = problem.status;
      meta.problemCode = problem.code;
      if (cause instanceof GatewayError && cause.rateLimit) metrics.rateLimited(cause.rateLimit.scope as RateLimitScope);
      if (problem.code === "COUNTRY_NOT_ALLOWED") metrics.rateLimited("country");
      // No route, so no mapResponse hook (where requestLog writes the line): write it here.
      if (code === "NOT_FOUND") metas.finish(meta, request.method, pathOf(request.url), problem.status);
      return problemResponse(problem, cause instanceof GatewayError ? problemHeaders(cause) : {});
    })
    .as("global");
}

export type RequestContext = ReturnType<typeof requestContext>;

/**
 * One log line per request. Registered before every other plugin, so that a
 * request refused in an earlier onRequest hook (per-IP limit, caller key) is
 * logged too (the guard writes that line itself).
 *
 * Written in mapResponse, which Elysia runs for every handled request, a success
 * or an error answer alike, just before the Response is made: unlike
 * onAfterResponse, it costs no timer and no async callback per request. An
 * unknown route skips mapResponse; requestContext's error hook writes that line.
 * One case it cannot see: a value that fails to serialise after this hook (a
 * BigInt, a cycle) is logged with the status the handler meant, not the 500 the
 * client gets; every route's response schema refuses such values before that.
 */
export function requestLog(metas: RequestMetas) {
  return new Elysia({ name: "request-log" }).mapResponse({ as: "global" }, ({ request, set, path, responseValue }) => {
    const meta = metas.of(request);
    const status =
      responseValue instanceof Response
        ? responseValue.status
        : responseValue instanceof ElysiaCustomStatusResponse
          ? Number(responseValue.code) // a handler's status(code, body)
          : typeof set.status === "number"
            ? set.status
            : 200;
    metas.finish(meta, request.method, path, meta.problemStatus ?? status);
  });
}

/** Headers an error answer carries besides the problem body. */
export function problemHeaders(error: GatewayError): Record<string, string> {
  if (error.rateLimit) return rateLimitHeaders(error.rateLimit);
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  if (error.code === "UNAUTHORIZED") headers["www-authenticate"] = error.challenge ?? 'Bearer realm="otp-gateway"';
  return headers;
}

function shadowsToString(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Object.hasOwn(value, "toString")) return true;
  return Object.values(value).some(shadowsToString);
}

function toProblem(code: string | number, error: unknown, meta: RequestMeta) {
  if (error instanceof GatewayError) {
    return problemFor(error.code, meta.requestId, { detail: error.detail, errors: error.fieldErrors });
  }
  switch (code) {
    case "VALIDATION":
      return problemFor("INVALID_REQUEST", meta.requestId, { detail: "Some fields are missing or not valid.", errors: fieldErrors(error) });
    case "PARSE":
      return problemFor("INVALID_REQUEST", meta.requestId, { detail: "The body could not be parsed." });
    case "NOT_FOUND":
      return problemFor("NOT_FOUND", meta.requestId, { detail: "No route matches this method and path." });
    default:
      meta.log.error("unhandled error", { code: String(code), error: error instanceof Error ? error : String(error) });
      return problemFor("INTERNAL_ERROR", meta.requestId);
  }
}

/** TypeBox's errors as JSON pointers with short messages; never echoes the value sent. */
function fieldErrors(error: unknown): FieldError[] {
  const all = (error as { all?: { path?: string; message?: string; summary?: string }[] }).all ?? [];
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const item of all) {
    const pointer = item.path || "/";
    if (seen.has(pointer)) continue;
    seen.add(pointer);
    out.push({ pointer, detail: item.message ?? "is not valid" });
  }
  return out.slice(0, 20);
}

/** The path of an absolute request URL without building a URL object (hot path). */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}
