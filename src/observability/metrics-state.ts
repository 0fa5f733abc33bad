export interface PromMetricsOptions {
  version: string;
  /** process_* and nodejs_* metrics (CPU, memory, event loop lag). Default true. */
  defaultMetrics?: boolean;
}

/** Upstream durations' histogram buckets, in seconds. */
export const UPSTREAM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
/** The gateway's own answer times (seconds): a refusal answers in well under a millisecond, a send in tens. */
export const HTTP_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Seconds from a send to its delivery's final report (or to giving up on it, `unknown`). */
export const DELIVERY_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600] as const;

/** One series of a histogram: counts per bucket (not cumulative), sum and count. */
export interface HistogramSeries {
  labels: Record<string, string>;
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Every one-label counter the gateway keeps, in one list: the Map each counts in
 * (metrics.ts), the metric it is rendered as (prom-registry.ts), and the label
 * values that exist from the start (so that rate() works before the first event).
 */
export const COUNTER_FAMILIES = {
  sends: {
    name: "otp_gateway_sends_total",
    label: "outcome",
    help: "Send requests by outcome (sent, replayed, or the error code).",
    initial: ["sent"],
  },
  verifies: {
    name: "otp_gateway_verifies_total",
    label: "outcome",
    help: "Verify requests by outcome (verified, not_verified, or the error code).",
    initial: ["verified", "not_verified"],
  },
  limited: {
    name: "otp_gateway_rate_limited_total",
    label: "scope",
    help: "Requests refused by a gateway limit, by scope.",
    initial: ["phone", "ip", "subnet", "verify", "get", "get-subnet", "country"],
  },
  retries: {
    name: "otp_gateway_upstream_retries_total",
    label: "endpoint",
    help: "Upstream send attempts repeated after a 5xx or connection error.",
    initial: ["send", "verify"],
  },
  spend: {
    name: "otp_gateway_estimated_spend_inr_total",
    label: "country",
    help: "Estimated SMS spend in INR by destination country (SMS_PRICES), for sends that went out.",
    initial: [],
  },
  refused: {
    name: "otp_gateway_pumping_refused_total",
    label: "country",
    help: "Sends the pumping guard refused (any of its rules), by country.",
    initial: [],
  },
  monitored: {
    name: "otp_gateway_pumping_monitored_total",
    label: "country",
    help: "Sends the pumping guard would have refused in enforce mode, by country.",
    initial: [],
  },
  ruleRefused: {
    name: "otp_gateway_guard_refused_total",
    label: "rule",
    help: "Sends refused by a rule of the spend guard: block, range (blocked on conversion), block-unproven, range-unproven (bounds on unproven sends), budget, budget-reserve (an unproven send past a budget's open share).",
    initial: ["block", "range", "block-unproven", "range-unproven", "budget", "budget-reserve"],
  },
  ruleMonitored: {
    name: "otp_gateway_guard_monitored_total",
    label: "rule",
    help: "Sends a rule would have refused in enforce mode (PUMPING_GUARD=monitor), by rule.",
    initial: ["block", "range", "block-unproven", "range-unproven", "budget-reserve"],
  },
  sent: {
    name: "otp_gateway_pumping_sent_total",
    label: "country",
    help: "Sends that went out, by country (with _verified: the conversion the guard watches).",
    initial: [],
  },
  verified: {
    name: "otp_gateway_pumping_verified_total",
    label: "country",
    help: "Codes verified, by country.",
    initial: [],
  },
  unlogged: {
    name: "otp_gateway_request_lines_not_written_total",
    label: "scope",
    help: "Request lines not written under a flood, past the first lines a second: per-IP denials by limit scope, and probe answers (probe).",
    initial: ["ip", "subnet", "get", "get-subnet", "probe"],
  },
} as const satisfies Record<
  string,
  { name: string; label: string; help: string; initial: readonly string[] }
>;

/** The one-label counters, by family: each a Map from its label's value to a running total. */
export type CounterFamily = keyof typeof COUNTER_FAMILIES;

/** What the gateway has counted so far, in plain Maps: prom-client reads it when scraped (prom-registry.ts). */
export interface MetricsState {
  readonly options: Required<PromMetricsOptions>;
  readonly counts: Record<CounterFamily, Map<string, number>>;
  readonly redisErrors: { value: number };
  /** Per `endpoint status_class`: counts per bucket (not cumulative), sum and count. */
  readonly upstream: Map<
    string,
    { endpoint: string; statusClass: string; buckets: number[]; sum: number; count: number }
  >;
  readonly budgets: Map<string, { scope: string; window: string; used: number; limit: number; open: number }>;
  /** The gateway's answers, per `route status_class`. */
  readonly http: Map<string, HistogramSeries>;
  /** Deliveries that ended, per `country status`: seconds from the send to the final report. */
  readonly deliveries: Map<string, HistogramSeries>;
  inFlight: () => number;
  /** Blocks and ranges the pumping guard holds blocked now, read from the store when scraped. */
  activeBlocks?: () => Promise<number>;
  /** Run before each rendering: fresh values for what the hot path sees only now and then. */
  beforeScrape?: () => Promise<void>;
}
