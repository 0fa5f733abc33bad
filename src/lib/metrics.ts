import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { droppedLogLines } from "./logger";
import type { Metrics, RateLimitScope, UpstreamEndpoint } from "./metrics-port";
import { type Tally, tallied } from "./tally";

export { type Metrics, noMetrics, type RateLimitScope, type UpstreamEndpoint } from "./metrics-port";

export interface PromMetricsOptions {
  version: string;
  /** process_* and nodejs_* metrics (CPU, memory, event loop lag). Default true. */
  defaultMetrics?: boolean;
}

/** prom-client behind the Metrics port, on its own registry (no global state). */
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  readonly #sends: Tally;
  readonly #verifies: Tally;
  readonly #limited: Tally;
  readonly #upstream: Histogram<"endpoint" | "status_class">;
  readonly #retries: Counter<"endpoint">;
  readonly #redisErrors: Counter;
  /** Latest use per budget window, handed to the gauges at scrape time. */
  readonly #budgets = new Map<string, { scope: string; window: string; used: number; limit: number }>();
  readonly #spend: Tally;
  readonly #pumping: Record<"refused" | "monitored" | "sent" | "verified", Tally>;
  #inFlight: () => number = () => 0;

  constructor(options: PromMetricsOptions) {
    const registers = [this.registry];
    const sends = tallied({
      name: "otp_gateway_sends_total",
      help: "Send requests by outcome (sent, replayed, or the error code).",
      labelName: "outcome",
      registers,
    });
    const verifies = tallied({
      name: "otp_gateway_verifies_total",
      help: "Verify requests by outcome (verified, not_verified, or the error code).",
      labelName: "outcome",
      registers,
    });
    const limited = tallied({
      name: "otp_gateway_rate_limited_total",
      help: "Requests refused by a gateway limit, by scope.",
      labelName: "scope",
      registers,
    });
    [this.#sends, this.#verifies, this.#limited] = [sends.tally, verifies.tally, limited.tally];
    this.#upstream = new Histogram({
      name: "otp_gateway_upstream_request_duration_seconds",
      help: "StartMessaging request duration by endpoint and status class.",
      labelNames: ["endpoint", "status_class"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#retries = new Counter({
      name: "otp_gateway_upstream_retries_total",
      help: "Upstream send attempts repeated after a 5xx or connection error.",
      labelNames: ["endpoint"],
      registers,
    });
    this.#redisErrors = new Counter({
      name: "otp_gateway_redis_errors_total",
      help: "Redis commands that failed or timed out.",
      registers,
    });
    const spend = tallied({
      name: "otp_gateway_estimated_spend_inr_total",
      help: "Estimated SMS spend in INR by destination country (SMS_PRICES), for sends that went out.",
      labelName: "country",
      registers,
    });
    this.#spend = spend.tally;
    const pumpingTally = (action: string, help: string) =>
      tallied({ name: `otp_gateway_pumping_${action}_total`, help, labelName: "country", registers }).tally;
    this.#pumping = {
      refused: pumpingTally("refused", "Sends the pumping guard refused (their prefix is blocked), by country."),
      monitored: pumpingTally("monitored", "Sends the pumping guard would have refused in enforce mode, by country."),
      sent: pumpingTally("sent", "Sends that went out, by country (with _verified: the conversion the guard watches)."),
      verified: pumpingTally("verified", "Codes verified, by country."),
    };
    const budgets = this.#budgets;
    const budgetGauge = (name: string, help: string, value: (b: { used: number; limit: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["budget", "window"],
        registers,
        collect() {
          for (const b of budgets.values()) this.set({ budget: b.scope, window: b.window }, value(b));
        },
      });
    budgetGauge(
      "otp_gateway_send_budget_used",
      "Sends counted in a send budget's window (as this process last saw it).",
      (b) => b.used,
    );
    budgetGauge("otp_gateway_send_budget_remaining", "Sends left in a send budget's window.", (b) =>
      Math.max(0, b.limit - b.used),
    );
    const inFlight = () => this.#inFlight();
    new Gauge({
      name: "otp_gateway_http_requests_in_flight",
      help: "HTTP requests being served.",
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    new Counter({
      name: "otp_gateway_log_lines_dropped_total",
      help: "Log lines dropped because stdout was not being read (a stuck log collector).",
      registers,
      collect() {
        this.reset();
        this.inc(droppedLogLines());
      },
    });
    new Gauge({
      name: "otp_gateway_build_info",
      help: "Always 1; labels say what is running.",
      labelNames: ["version", "bun"],
      registers,
    }).set({ version: options.version, bun: Bun.version }, 1);
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges whose names end in _total fail `promtool check metrics`; the rest stay.
      for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"])
        this.registry.removeSingleMetric(name);
    }
    // Every series exists from the start, so rate() works before the first event.
    for (const scope of ["phone", "ip", "subnet", "verify", "country"]) limited.counter.inc({ scope }, 0);
    for (const endpoint of ["send", "verify"]) this.#retries.inc({ endpoint }, 0);
    sends.counter.inc({ outcome: "sent" }, 0);
    verifies.counter.inc({ outcome: "verified" }, 0);
    verifies.counter.inc({ outcome: "not_verified" }, 0);
  }

  send(outcome: string): void {
    this.#sends.add(outcome);
  }
  verify(outcome: string): void {
    this.#verifies.add(outcome);
  }
  rateLimited(scope: RateLimitScope): void {
    this.#limited.add(scope);
  }
  upstream(endpoint: UpstreamEndpoint, statusClass: string, seconds: number): void {
    this.#upstream.observe({ endpoint, status_class: statusClass }, seconds);
  }
  upstreamRetry(endpoint: UpstreamEndpoint): void {
    this.#retries.inc({ endpoint });
  }
  redisError(): void {
    this.#redisErrors.inc();
  }
  budget(scope: string, window: string, used: number, limit: number): void {
    this.#budgets.set(`${scope} ${window}`, { scope, window, used, limit });
  }
  spend(country: string, amount: number): void {
    this.#spend.add(country, amount);
  }
  pumping(country: string, event: "refused" | "monitored" | "sent" | "verified"): void {
    this.#pumping[event].add(country);
  }
  watchInFlight(read: () => number): void {
    this.#inFlight = read;
  }
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
