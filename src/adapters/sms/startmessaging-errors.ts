import { GatewayError } from "../../errors";
import type { Logger } from "../../observability/logger";
import type { UpstreamEndpoint } from "../../observability/metrics-port";
import { parseRetryAfter, readErrorInfo } from "./startmessaging-response";

/** One upstream answer, its body read within the size cap (undefined when it was not a JSON object). */
export interface UpstreamAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

/** When a 429 carries no hint, callers wait this long. */
const DEFAULT_RETRY_AFTER_S = 60;

/**
 * Maps a non-2xx answer to the caller's error (docs/api.md's status table);
 * returns for 2xx. What operators must act on is logged here, loudly.
 */
export function throwOnError(
  endpoint: UpstreamEndpoint,
  { status, headers, body }: UpstreamAnswer,
  /** The logger, bound to the caller's request when there is one: made only when a line is written. */
  logger: () => Logger,
  now: number,
): void {
  if (status >= 200 && status < 300) return;
  const log = logger();
  const info = readErrorInfo(body);
  const fields = { endpoint, status, upstreamCode: info.code };
  if (status === 400) {
    const code = info.code === "UNSUPPORTED_COUNTRY" ? "UNSUPPORTED_COUNTRY" : "INVALID_PHONE";
    throw new GatewayError(code, { detail: "The SMS provider refused this phone number." });
  }
  if (status === 401 || status === 403) {
    log.error("upstream rejected the API key: check STARTMESSAGING_API_KEY", fields);
    throw new GatewayError("GATEWAY_MISCONFIGURED");
  }
  if (status === 402) {
    log.error("upstream refused for insufficient balance: top up the StartMessaging wallet", fields);
    throw new GatewayError("PROVIDER_UNAVAILABLE");
  }
  if (status === 409 && endpoint === "send") {
    throw new GatewayError("IDEMPOTENCY_CONFLICT");
  }
  if (status === 429) {
    const retryAfter =
      parseRetryAfter(headers.get("retry-after"), now) ?? info.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_S;
    log.warn("upstream rate limited the gateway", { ...fields, retryAfter });
    throw new GatewayError("RATE_LIMITED", { retryAfterSeconds: Math.min(Math.max(retryAfter, 1), 86_400) });
  }
  if (status >= 500) {
    throw new GatewayError("UPSTREAM_ERROR", {
      detail: `The SMS provider failed (HTTP ${status}).`,
      retryable: true,
    });
  }
  log.error("unexpected upstream status", fields);
  throw new GatewayError("UPSTREAM_ERROR", { detail: `The SMS provider answered HTTP ${status}.` });
}
