import type { OtpOperation } from "../domain/operation";
import type { Metrics, RateLimitScope, RefusalRule, SampledLine, UpstreamEndpoint } from "./metrics-port";
import {
  COUNTER_FAMILIES,
  type CounterFamily,
  DELIVERY_BUCKETS,
  type HistogramSeries,
  HTTP_BUCKETS,
  type MetricsState,
  type PromMetricsOptions,
  UPSTREAM_BUCKETS,
} from "./metrics-state";

export {
  type Metrics,
  noMetrics,
  type RateLimitScope,
  type RefusalRule,
  type SampledLine,
} from "./metrics-port";
export type { PromMetricsOptions } from "./metrics-state";

/**
 * The Metrics port in plain Maps, rendered by prom-client on its own registry.
 * prom-client is loaded on the first scrape, not at start: a gateway that is
 * never scraped never pays for it (its module and default metrics are some
 * megabytes of idle memory), and the hot path pays one Map update per count.
 */
/** One observation in a histogram's series (created on its first), in the state's plain Maps. */
function observe(
  map: Map<string, HistogramSeries>,
  labels: Record<string, string>,
  bounds: readonly number[],
  seconds: number,
): void {
  const key = Object.values(labels).join(" ");
  let series = map.get(key);
  if (!series) {
    series = { labels, buckets: bounds.map(() => 0), sum: 0, count: 0 };
    map.set(key, series);
  }
  let bucket = 0;
  while (bucket < bounds.length && seconds > (bounds[bucket] ?? 0)) bucket++;
  if (bucket < bounds.length) series.buckets[bucket] = (series.buckets[bucket] ?? 0) + 1;
  series.sum += seconds;
  series.count += 1;
}

export class PromMetrics implements Metrics {
  readonly #state: MetricsState;
  #render?: Promise<() => Promise<{ contentType: string; body: string }>>;

  constructor(options: PromMetricsOptions) {
    const counts = Object.fromEntries(
      Object.entries(COUNTER_FAMILIES).map(([family, { initial }]) => [
        family,
        new Map(initial.map((value) => [value, 0])),
      ]),
    ) as MetricsState["counts"];
    this.#state = {
      options: { defaultMetrics: true, ...options },
      counts,
      redisErrors: { value: 0 },
      upstream: new Map(),
      budgets: new Map(),
      http: new Map(),
      deliveries: new Map(),
      inFlight: () => 0,
    };
  }

  #add(family: CounterFamily, label: string, amount = 1): void {
    const map = this.#state.counts[family];
    map.set(label, (map.get(label) ?? 0) + amount);
  }

  send(outcome: string): void {
    this.#add("sends", outcome);
  }
  verify(outcome: string): void {
    this.#add("verifies", outcome);
  }
  rateLimited(scope: RateLimitScope): void {
    this.#add("limited", scope);
  }
  requestLineNotWritten(scope: SampledLine): void {
    this.#add("unlogged", scope);
  }
  upstream(endpoint: UpstreamEndpoint, statusClass: string, seconds: number): void {
    const key = `${endpoint} ${statusClass}`;
    let series = this.#state.upstream.get(key);
    if (!series) {
      series = { endpoint, statusClass, buckets: UPSTREAM_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#state.upstream.set(key, series);
    }
    const bucket = UPSTREAM_BUCKETS.findIndex((le) => seconds <= le);
    if (bucket >= 0) series.buckets[bucket] = (series.buckets[bucket] ?? 0) + 1;
    series.sum += seconds;
    series.count += 1;
  }
  upstreamRetry(endpoint: OtpOperation): void {
    this.#add("retries", endpoint);
  }
  redisError(): void {
    this.#state.redisErrors.value += 1;
  }
  budget(scope: string, window: string, used: number, limit: number, open = limit): void {
    const key = `${scope} ${window}`;
    const entry = this.#state.budgets.get(key);
    if (!entry) {
      this.#state.budgets.set(key, { scope, window, used, limit, open });
      return;
    }
    entry.used = used;
    entry.limit = limit;
    entry.open = open;
  }
  spend(country: string, amount: number): void {
    this.#add("spend", country, amount);
  }
  pumping(country: string, event: "refused" | "monitored" | "sent" | "verified"): void {
    this.#add(event, country);
  }
  guardRule(rule: RefusalRule, outcome: "refused" | "monitored"): void {
    this.#add(outcome === "refused" ? "ruleRefused" : "ruleMonitored", rule);
  }
  answered(route: string, status: number, seconds: number): void {
    const statusClass = `${Math.floor(status / 100)}xx`;
    observe(this.#state.http, { route, status_class: statusClass }, HTTP_BUCKETS, seconds);
  }
  delivery(country: string, status: "delivered" | "failed" | "unknown", seconds: number): void {
    observe(this.#state.deliveries, { country, status }, DELIVERY_BUCKETS, seconds);
  }
  watchInFlight(read: () => number): void {
    this.#state.inFlight = read;
  }
  watchActiveBlocks(read: () => Promise<number>): void {
    this.#state.activeBlocks = read;
  }
  beforeScrape(refresh: () => Promise<void>): void {
    this.#state.beforeScrape = refresh;
  }
  async render(): Promise<{ contentType: string; body: string }> {
    // Loaded and built once, on the first scrape.
    this.#render ??= import("./prom-registry").then(({ promRegistry }) => promRegistry(this.#state));
    return (await this.#render)();
  }
}
