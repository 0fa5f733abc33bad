import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { droppedLogLines } from "./logger";
import { COUNTER_FAMILIES, type CounterFamily, type MetricsState, UPSTREAM_BUCKETS } from "./metrics-state";

/**
 * prom-client's registry over the gateway's counts (metrics.ts), built on the
 * first scrape: each metric reads the plain state when collected. Returns the
 * renderer.
 */
export function promRegistry(state: MetricsState): () => Promise<{ contentType: string; body: string }> {
  const registry = new Registry();
  const registers = [registry];
  for (const [family, { name, label, help }] of Object.entries(COUNTER_FAMILIES)) {
    const counts = state.counts[family as CounterFamily];
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [value, total] of counts) this.inc({ [label]: value }, total);
      },
    });
  }
  registry.registerMetric(upstreamHistogram(state) as never);
  new Counter({
    name: "otp_gateway_redis_errors_total",
    help: "Redis commands that failed or timed out.",
    registers,
    collect() {
      this.reset();
      this.inc(state.redisErrors.value);
    },
  });
  const budgetGauge = (
    name: string,
    help: string,
    value: (b: { used: number; limit: number; open: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["budget", "window"],
      registers,
      collect() {
        for (const b of state.budgets.values()) this.set({ budget: b.scope, window: b.window }, value(b));
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
  budgetGauge(
    "otp_gateway_send_budget_open_remaining",
    "Sends left in a send budget's open share (BUDGET_RESERVE): at 0, only returning users are served.",
    (b) => Math.max(0, b.open - b.used),
  );
  new Gauge({
    name: "otp_gateway_http_requests_in_flight",
    help: "HTTP requests being served.",
    registers,
    collect() {
      this.set(state.inFlight());
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
  }).set({ version: state.options.version, bun: Bun.version }, 1);
  if (state.options.defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    for (const name of [
      // Gauges whose names end in _total fail `promtool check metrics`.
      "nodejs_active_handles_total",
      "nodejs_active_requests_total",
      "nodejs_active_resources_total",
      // v8.getHeapSpaceStatistics() under Bun walks JSC's heap: 1.5 to 4 ms a scrape, more than
      // everything else on the page together. nodejs_heap_size_*_bytes says the same in total.
      "nodejs_heap_space_size_total_bytes",
      "nodejs_heap_space_size_used_bytes",
      "nodejs_heap_space_size_available_bytes",
    ])
      registry.removeSingleMetric(name);
  }
  return async () => ({ contentType: registry.contentType, body: await registry.metrics() });
}

/** The upstream durations as a histogram metric prom-client renders (its buckets counted in metrics.ts). */
function upstreamHistogram(state: MetricsState) {
  const name = "otp_gateway_upstream_request_duration_seconds";
  const help = "StartMessaging request duration by endpoint and status class.";
  const get = async () => {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const series of state.upstream.values()) {
      const labels = { endpoint: series.endpoint, status_class: series.statusClass };
      let cumulative = 0;
      UPSTREAM_BUCKETS.forEach((le, i) => {
        cumulative += series.buckets[i] ?? 0;
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: "+Inf" }, value: series.count });
      values.push({ metricName: `${name}_sum`, labels, value: series.sum });
      values.push({ metricName: `${name}_count`, labels, value: series.count });
    }
    return { name, help, type: "histogram", aggregator: "sum", values };
  };
  return { name, help, type: "histogram", aggregator: "sum", get, reset() {} };
}
