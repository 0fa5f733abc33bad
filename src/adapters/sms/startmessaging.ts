import { UPSTREAM_ID_RE } from "../../domain/ids";
import type { OtpOperation } from "../../domain/operation";
import { generateCode } from "../../domain/otp-code";
import { deliveryStatusOf } from "../../domain/verification-status";
import { GatewayError } from "../../errors";
import { singleFlight } from "../../lib/single-flight";
import type { Logger } from "../../observability/logger";
import { type Metrics, noMetrics } from "../../observability/metrics";
import type { UpstreamEndpoint } from "../../observability/metrics-port";
import type {
  DeliveryReport,
  ProviderHealth,
  SendOtpInput,
  SendOtpResult,
  SmsProvider,
  VerifyOtpInput,
  VerifyOtpResult,
} from "./port";
import { throwOnError, type UpstreamAnswer } from "./startmessaging-errors";
import {
  parseJsonObject,
  parseRetryAfter,
  readAttemptsLeft,
  readDeliveryStatus,
  readErrorInfo,
  readExpiresAt,
  readLimited,
  readMessageId,
  readVerificationId,
  readVerified,
} from "./startmessaging-response";

export interface StartMessagingOptions {
  /** e.g. `https://api.startmessaging.com`; tests point it at a local fake. */
  baseUrl: string;
  /** Sent as `X-API-Key`; never logged, never in an error. */
  apiKey: string;
  /** Optional `templateId` for every send. */
  templateId?: string;
  /** Timeout of one attempt, body included. */
  timeoutMs: number;
  /** Extra send attempts after a 5xx or connection error. */
  retries: number;
  /** Base of the exponential backoff (full jitter) between attempts. */
  retryBackoffMs: number;
  /** Digits of the code we generate and send in `variables.otp`. */
  codeLength: number;
  /** Filled in when the upstream gives no `expiresAt`. */
  ttlMs: number;
  /** Filled in when the upstream gives no `attemptsLeft`. */
  maxAttempts: number;
  logger: Logger;
  /** Upstream durations and retries. Default: none. */
  metrics?: Metrics;
  now?: () => number;
}

const HEALTH_CACHE_MS = 15_000;

/**
 * Client of the StartMessaging OTP API, tolerant of both published response
 * shapes. Failure policy:
 * - send: 5xx and connection errors are retried (same idempotency key, so no
 *   second SMS or charge) with backoff, then 502; a timeout is not retried (the
 *   caller already waited the full timeout) and answers 504;
 * - verify: never retried, because a repeated verify could spend an attempt twice.
 */
export class StartMessagingProvider implements SmsProvider {
  readonly name = "startmessaging";
  readonly #base: string;
  readonly #now: () => number;
  readonly #metrics: Metrics;
  #health?: { at: number; value: ProviderHealth };

  constructor(private readonly options: StartMessagingOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#now = options.now ?? Date.now;
    this.#metrics = options.metrics ?? noMetrics;
  }

  async send({ phone, idempotencyKey, traceId }: SendOtpInput): Promise<SendOtpResult> {
    const log = () => this.#log(traceId);
    // Our own CSPRNG code, for the reference-docs variant; ignored where StartMessaging generates one.
    const payload = {
      phoneNumber: phone,
      variables: { otp: generateCode(this.options.codeLength) },
      idempotencyKey,
      ...(this.options.templateId ? { templateId: this.options.templateId } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.#post("send", payload, log);
        return this.#readSend(answer, log);
      } catch (err) {
        if (!(err instanceof GatewayError) || !err.retryable || attempt >= this.options.retries) {
          // An earlier attempt failed after reaching the upstream (5xx, reset): it may have sent,
          // whatever this last answer says (a 402 or 429 right after a delivered SMS, say).
          throw attempt > 0 && err instanceof GatewayError ? err.withMayHaveSent() : err;
        }
        const delay = Math.random() * this.options.retryBackoffMs * 2 ** attempt;
        this.#metrics.upstreamRetry("send");
        log().warn("upstream send failed, retrying", {
          attempt: attempt + 1,
          delayMs: Math.round(delay),
          error: err.message,
        });
        await Bun.sleep(delay);
      }
    }
  }

  async verify({ requestId, code, traceId }: VerifyOtpInput): Promise<VerifyOtpResult> {
    const log = () => this.#log(traceId);
    const answer = await this.#post("verify", { requestId, otpCode: code }, log);
    if (answer.status === 404) return { verified: false, reason: "unknown" };
    if (answer.status === 410) return { verified: false, reason: "expired" };
    if (answer.status === 400) {
      // Our validators passed it, so the upstream's 400 is about this id or code, not a malformed call.
      log().warn("upstream refused a verify with 400; answering not verified", {
        upstreamCode: readErrorInfo(answer.body).code,
      });
      return { verified: false, reason: "unknown" };
    }
    throwOnError("verify", answer, log, this.#now());
    const verified = readVerified(answer.body);
    if (verified === undefined) throw this.#badBody("verify", answer.status, log);
    return verified ? { verified: true } : { verified: false, reason: "wrong_code" };
  }

  /**
   * What StartMessaging says of one SMS (`GET /messages/{id}`): its status, read from either shape
   * (`{status}` or `{data: {status}}`). Never retried here: the delivery tracker asks again later.
   * An id it does not know is `unknown`; a 429 is `unknown` with how long to wait; any other error
   * answer throws, without the log lines a send's would write (the tracker asks again and again).
   */
  async delivery(messageId: string): Promise<DeliveryReport> {
    const log = () => this.options.logger;
    const answer = await this.#exchange("delivery", `/messages/${encodeURIComponent(messageId)}`, log);
    if (answer.status === 404) return { status: "unknown" };
    if (answer.status === 429) {
      const seconds =
        parseRetryAfter(answer.headers.get("retry-after"), this.#now()) ??
        readErrorInfo(answer.body).retryAfterSeconds ??
        1;
      return { status: "unknown", retryAfterMs: Math.max(1, seconds) * 1000 };
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`the delivery status answer was HTTP ${answer.status}`);
    }
    return { status: deliveryStatusOf(readDeliveryStatus(answer.body)) };
  }

  async health(): Promise<ProviderHealth> {
    const cached = this.#health;
    if (cached && this.#now() - cached.at < HEALTH_CACHE_MS) return cached.value;
    return this.#probe();
  }

  /** One reachability check at a time, shared by every /readyz that asks meanwhile. */
  readonly #probe = singleFlight(async (): Promise<ProviderHealth> => {
    let value: ProviderHealth;
    try {
      // Any HTTP answer proves DNS, TCP and TLS work; the key is not sent.
      const res = await fetch(this.#base, {
        method: "HEAD",
        signal: AbortSignal.timeout(Math.min(this.options.timeoutMs, 2_000)),
      });
      value = { ok: true, detail: `reachable (HTTP ${res.status})` };
    } catch (err) {
      value = {
        ok: false,
        detail: err instanceof Error && err.name === "TimeoutError" ? "timeout" : "unreachable",
      };
    }
    this.#health = { at: this.#now(), value };
    return value;
  });

  #readSend(answer: UpstreamAnswer, log: () => Logger): SendOtpResult {
    throwOnError("send", answer, log, this.#now());
    if (answer.status !== 200 && answer.status !== 201) throw this.#badBody("send", answer.status, log);
    const requestId = readVerificationId(answer.body);
    if (!requestId || !UPSTREAM_ID_RE.test(requestId)) throw this.#badBody("send", answer.status, log);
    const messageId = readMessageId(answer.body);
    return {
      requestId,
      expiresAt: readExpiresAt(answer.body, this.#now()) ?? new Date(this.#now() + this.options.ttlMs),
      attemptsLeft: readAttemptsLeft(answer.body) ?? this.options.maxAttempts,
      ...(messageId && UPSTREAM_ID_RE.test(messageId) ? { messageId } : {}),
    };
  }

  /** The provider's logger, bound to the caller's request id when there is one. */
  #log(traceId: string | undefined): Logger {
    return traceId ? this.options.logger.child({ requestId: traceId }) : this.options.logger;
  }

  #badBody(endpoint: OtpOperation, status: number, log: () => Logger): GatewayError {
    log().error("upstream answer is not the expected JSON", { endpoint, status });
    return new GatewayError("UPSTREAM_ERROR", {
      detail: "The SMS provider sent an answer the gateway could not read.",
    });
  }

  #post(endpoint: OtpOperation, payload: unknown, log: () => Logger): Promise<UpstreamAnswer> {
    return this.#exchange(endpoint, `/otp/${endpoint}`, log, payload);
  }

  /** A request's method, headers and body: a POST of `payload` as JSON, or a GET without one. */
  #init(payload: unknown): RequestInit & { decompress: boolean } {
    const post = payload !== undefined;
    return {
      method: post ? "POST" : "GET",
      headers: {
        ...(post ? { "content-type": "application/json" } : {}),
        accept: "application/json",
        "accept-encoding": "identity",
        "x-api-key": this.options.apiKey,
      },
      // What we did not ask to be compressed is not expanded: readLimited refuses it.
      decompress: false,
      ...(post ? { body: JSON.stringify(payload) } : {}),
      // One deadline for connect, headers and body.
      signal: AbortSignal.timeout(this.options.timeoutMs),
      // A redirect would carry the API key elsewhere; treat it as an unexpected answer.
      redirect: "manual",
    };
  }

  /** One request to the upstream: a POST with `payload`, or a GET without. */
  async #exchange(
    endpoint: UpstreamEndpoint,
    path: string,
    log: () => Logger,
    payload?: unknown,
  ): Promise<UpstreamAnswer> {
    const started = performance.now();
    try {
      const res = await fetch(`${this.#base}${path}`, this.#init(payload));
      const text = await readLimited(res);
      this.#metrics.upstream(
        endpoint,
        `${Math.floor(res.status / 100)}xx`,
        (performance.now() - started) / 1000,
      );
      this.options.logger.debug("upstream answered", {
        endpoint,
        status: res.status,
        ms: Math.round(performance.now() - started),
      });
      return {
        status: res.status,
        headers: res.headers,
        body: text === undefined ? undefined : parseJsonObject(text),
      };
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      this.#metrics.upstream(
        endpoint,
        timedOut ? "timeout" : "network",
        (performance.now() - started) / 1000,
      );
      log().warn(timedOut ? "upstream timed out" : "upstream connection failed", {
        endpoint,
        ms: Math.round(performance.now() - started),
        error: err instanceof Error ? err.name : "unknown",
      });
      if (timedOut) throw new GatewayError("UPSTREAM_TIMEOUT", { cause: err });
      // Connection refused, reset, or a body cut mid-way: safe to repeat a send with the same key.
      throw new GatewayError("UPSTREAM_ERROR", {
        detail: "The SMS provider could not be reached.",
        retryable: true,
        cause: err,
      });
    }
  }
}
