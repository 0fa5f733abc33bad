import { Elysia, ElysiaCustomStatusResponse } from "elysia";
import { requestIdFrom } from "../domain/ids";
import { maskDigitRuns } from "../domain/mask";
import type { ErrorCode } from "../errors";
import { LineSampler } from "../observability/line-sampler";
import type { LogFields, Logger } from "../observability/logger";
import type { Metrics, RateLimitScope, SampledLine } from "../observability/metrics";
import { isProbe, otpOperation, routeLabel } from "./path";

/** Per-request state: what the hooks and handlers learn, for the log line and the metrics. */
export class RequestMeta {
  readonly startedAt = performance.now();
  /** Masked phone, set by a handler for the request log line. */
  maskedPhone?: string;
  /** The verification a send made or a verify checked: grep the log for the id send answered. */
  verificationId?: string;
  /** Status of a problem answer, which Elysia's `set.status` does not see. */
  problemStatus?: number;
  /** The client's address as the gateway decided it (see domain/client-ip.ts). */
  clientIp?: string;
  /** Which caller key was accepted (a digest prefix), when GATEWAY_API_KEYS is set. */
  callerId?: string;
  /** What a send or verify came to (`sent`, `replayed`, `verified`, `not_verified`), for metrics. */
  outcome?: string;
  /** The code of a problem answer, for metrics. */
  problemCode?: ErrorCode;
  /**
   * The rule that refused a request: a limit (`limit:<scope>-<window>`, e.g. `limit:ip-1m`) or the
   * spend guard's (`block-unproven`, `budget-reserve`, ...), or in monitor mode the guard's rule that
   * would have (`monitor:<rule>`): on the request line, never in the answer.
   */
  rule?: string;
  /** The caller's connection closed before the answer was sent: the answer was lost (a send's SMS went out). */
  clientGone?: boolean;
  /** Whether the request line was written (it is written once). */
  finished = false;
  #log?: Logger;

  constructor(
    readonly requestId: string,
    private readonly logger: Logger,
  ) {}

  /** A logger bound to this request's id; made on first use, as most requests log only their request line. */
  get log(): Logger {
    this.#log ??= this.logger.child({ requestId: this.requestId });
    return this.#log;
  }
}

/**
 * Per-request state made in onRequest, before Elysia derives its context, and
 * found again by later hooks. Keyed by the Request, so nothing outlives it.
 */
export class RequestMetas {
  readonly #metas = new WeakMap<Request, RequestMeta>();
  readonly #samplers = new Map<SampledLine, LineSampler>();
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  of(request: Request): RequestMeta {
    let meta = this.#metas.get(request);
    if (!meta) {
      meta = this.#made(request);
      this.#metas.set(request, meta);
    }
    return meta;
  }

  /**
   * The state of a request the caller is answering now, in onRequest: made
   * without being kept when no earlier hook made it, as nothing after the
   * answer asks for it (a per-IP denial: a weak map entry fewer per request).
   */
  answering(request: Request): RequestMeta {
    return this.#metas.get(request) ?? this.#made(request);
  }

  #made(request: Request): RequestMeta {
    return new RequestMeta(requestIdFrom(request.headers.get("x-request-id")), this.logger);
  }

  /**
   * The request log line and the outcome counters; called once per request, by
   * requestLog (with the path the router matched), by the error hook for an
   * unknown route, or by the guard for the answers it gives itself (both with
   * the request's own path).
   *
   * A probe's answer (GET /healthz, /readyz) is sampled alike: a load balancer asks every few
   * seconds, a flood of them from one address thousands of times a second.
   *
   * `denial`: the answer is a denial by this per-IP limit scope. Its line is
   * sampled: a flood from many addresses, or one, makes thousands a second, all
   * alike, and formatting and writing each was a good part of a denial's cost.
   * At most DENIAL_LINES_PER_SECOND a second of each scope are written; the
   * rest are counted (otp_gateway_request_lines_not_written_total) and a line a
   * second later says how many.
   */
  finish(meta: RequestMeta, method: string, path: string, status: number, denial?: RateLimitScope): void {
    if (meta.finished) return;
    meta.finished = true;
    // Only a POST is a send or a verify; a GET of the same path is counted as nothing.
    const operation = method === "POST" ? otpOperation(path) : undefined;
    if (operation) {
      const outcome = meta.outcome ?? meta.problemCode?.toLowerCase() ?? "unknown";
      if (operation === "send") this.metrics.send(outcome);
      else this.metrics.verify(outcome);
    }
    const seconds = (performance.now() - meta.startedAt) / 1000;
    this.metrics.answered(routeLabel(path), status, seconds);
    const sampled: SampledLine | undefined = denial ?? (isProbe(method, path) ? "probe" : undefined);
    if (sampled !== undefined && !this.#sampler(sampled).admit()) {
      this.metrics.requestLineNotWritten(sampled);
      return;
    }
    this.logger.info("request", requestLine(meta, method, path, status, seconds));
  }

  #sampler(scope: SampledLine): LineSampler {
    let sampler = this.#samplers.get(scope);
    if (!sampler) {
      sampler = new LineSampler(DENIAL_LINES_PER_SECOND, (notWritten) =>
        this.logger.info(
          "request lines not written",
          scope === "probe"
            ? { notWritten, scope }
            : { notWritten, scope, status: 429, code: "RATE_LIMITED" },
        ),
      );
      this.#samplers.set(scope, sampler);
    }
    return sampler;
  }
}

/**
 * Request lines a second written of per-IP denials, per scope: enough to see
 * which addresses a flood comes from; its size is in the metrics.
 */
export const DENIAL_LINES_PER_SECOND = 20;

/**
 * One log line per request. Registered before every other plugin, so that a
 * request refused in an earlier onRequest hook (per-IP limit, caller key) is
 * logged too (the guard writes that line itself).
 *
 * Written in mapResponse, which Elysia runs for every handled request, a success
 * or an error answer alike, just before the Response is made: unlike
 * onAfterResponse, it costs no timer and no async callback per request. An
 * unknown route skips mapResponse; the error hook writes that line.
 * One case it cannot see: a value that fails to serialise after this hook (a
 * BigInt, a cycle) is logged with the status the handler meant, not the 500 the
 * client gets; every route's response schema refuses such values before that.
 */
export function requestLog(metas: RequestMetas) {
  return new Elysia({ name: "request-log" }).mapResponse(
    { as: "global" },
    ({ request, set, path, responseValue }) => {
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
    },
  );
}

/** A request line's fields: what was asked, what it came to, and for a refusal its code and rule. */
function requestLine(
  meta: RequestMeta,
  method: string,
  path: string,
  status: number,
  seconds: number,
): LogFields {
  const ms = Math.round(seconds * 10_000) / 10;
  const fields: LogFields = { requestId: meta.requestId, method, path: shownPath(path), status, ms };
  if (meta.clientIp) fields.ip = meta.clientIp;
  if (meta.maskedPhone) fields.phone = meta.maskedPhone;
  if (meta.verificationId) fields.verificationId = meta.verificationId;
  if (meta.outcome) fields.outcome = meta.outcome;
  if (meta.problemCode) fields.code = meta.problemCode;
  if (meta.rule) fields.rule = meta.rule;
  if (meta.clientGone) fields.clientGone = true;
  return fields;
}

/** Paths longer than this are cut in the request line: a client must not choose the size of our log lines. */
const PATH_SHOWN = 256;

/** A path as a request line shows it: digit runs masked, cut to PATH_SHOWN characters. */
function shownPath(path: string): string {
  const masked = maskDigitRuns(path);
  return masked.length > PATH_SHOWN ? `${masked.slice(0, PATH_SHOWN)}…(${masked.length} characters)` : masked;
}
