export interface PromMetricsOptions {
  version: string;
  /** process_* and nodejs_* metrics (CPU, memory, event loop lag). Default true. */
  defaultMetrics?: boolean;
}

/** Upstream durations' histogram buckets, in seconds. */
export const UPSTREAM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** The one-label counters, by family: each a Map from its label's value to a running total. */
export type CounterFamily =
  | "sends"
  | "verifies"
  | "limited"
  | "retries"
  | "spend"
  | "refused"
  | "monitored"
  | "sent"
  | "verified"
  | "unlogged";

/** What the gateway has counted so far, in plain Maps: prom-client reads it when scraped (prom-registry.ts). */
export interface MetricsState {
  readonly options: Required<PromMetricsOptions>;
  readonly counts: Record<CounterFamily, Map<string, number>>;
  readonly redisErrors: { value: number };
  /** Per `endpoint status_class`: counts per bucket (not cumulative), sum and count. */
  readonly upstream: Map<string, { endpoint: string; statusClass: string; buckets: number[]; sum: number; count: number }>;
  readonly budgets: Map<string, { scope: string; window: string; used: number; limit: number }>;
  inFlight: () => number;
}
