import type { OtpOperation } from "../domain/operation";

/** The rules of the spend guard that refuse a send: the pumping guard's, and the budgets' (`budget-reserve`: past the open share). */
export type RefusalRule =
  | "block"
  | "range"
  | "block-unproven"
  | "range-unproven"
  | "budget"
  | "budget-reserve";

/** What the gateway asks the upstream: a send, a verify, or an SMS's delivery status. */
export type UpstreamEndpoint = OtpOperation | "delivery";

/** A limit's scope (`delivery`, the pace of delivery polls, refuses no request and is never counted). */
export type RateLimitScope =
  | "phone"
  | "ip"
  | "subnet"
  | "verify"
  | "get"
  | "get-subnet"
  | "country"
  | "delivery";
/** Why a request line may go unwritten under a flood: a per-IP denial (by its scope), or a probe's answer. */
export type SampledLine = RateLimitScope | "probe";

/**
 * What the gateway counts. The HTTP layer, the service and the adapters report
 * through this port; `/metrics` renders it in Prometheus text format.
 */
export interface Metrics {
  send(outcome: string): void;
  verify(outcome: string): void;
  rateLimited(scope: RateLimitScope): void;
  /** A request line not written: a denial by the per-IP limits past the lines a second written of them. */
  requestLineNotWritten(scope: SampledLine): void;
  /** One upstream attempt: its status class (`2xx`…`5xx`, `timeout`, `network`) and duration. */
  upstream(endpoint: UpstreamEndpoint, statusClass: string, seconds: number): void;
  upstreamRetry(endpoint: OtpOperation): void;
  redisError(): void;
  /** A send budget's window as last seen: sends in it, its limit, and the open share of it (all but the reserve). */
  budget(scope: string, window: string, used: number, limit: number, open?: number): void;
  /** One SMS sent to `country`, at its estimated price (INR). */
  spend(country: string, amount: number): void;
  /**
   * The pumping guard, by country: a send it refused or would have refused (monitor
   * mode), a send that went out, a code verified (their ratio is the conversion).
   */
  pumping(country: string, event: "refused" | "monitored" | "sent" | "verified"): void;
  /** A send a guard rule refused, or would have refused (monitor mode), by the rule's name. */
  guardRule(rule: RefusalRule, outcome: "refused" | "monitored"): void;
  /**
   * An SMS's delivery that ended, by destination country: `delivered` or `failed` as the upstream
   * reported, `unknown` when the code expired first; `seconds` from the send.
   */
  delivery(country: string, status: "delivered" | "failed" | "unknown", seconds: number): void;
  /** One answer of the gateway's: its route (a bounded set, see http/path.ts routeLabel), status and time. */
  answered(route: string, status: number, seconds: number): void;
  /** Where in-flight requests are read from at scrape time (Bun's server). */
  watchInFlight(read: () => number): void;
  /** Where the number of blocks and ranges blocked now is read from at scrape time (the store). */
  watchActiveBlocks(read: () => Promise<number>): void;
  /** Work done before each rendering (reading the budgets' use from the store; the last one given); a failure is ignored. */
  beforeScrape(refresh: () => Promise<void>): void;
  render(): Promise<{ contentType: string; body: string }>;
}

/** For parts built without metrics (unit tests of one adapter). */
export const noMetrics: Metrics = {
  send() {},
  verify() {},
  rateLimited() {},
  requestLineNotWritten() {},
  upstream() {},
  upstreamRetry() {},
  redisError() {},
  budget() {},
  spend() {},
  pumping() {},
  guardRule() {},
  answered() {},
  delivery() {},
  watchInFlight() {},
  watchActiveBlocks() {},
  beforeScrape() {},
  render: async () => ({ contentType: "text/plain", body: "" }),
};
