import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { droppedLogLines } from "./logger";
import {
  COUNTER_FAMILIES,
  type CounterFamily,
  DELIVERY_BUCKETS,
  type HistogramSeries,
  HTTP_BUCKETS,
  type MetricsState,
  UPSTREAM_BUCKETS,
} from "./metrics-state";

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
  registry.registerMetric(
    histogram(
      "otp_gateway_upstream_request_duration_seconds",
      "StartMessaging request duration by endpoint and status class.",
      UPSTREAM_BUCKETS,
      () =>
        [...state.upstream.values()].map((s) => ({
          ...s,
          labels: { endpoint: s.endpoint, status_class: s.statusClass },
        })),
    ) as never,
  );
  registry.registerMetric(
    histogram(
      "otp_gateway_http_request_duration_seconds",
      "The gateway's own answer times, from the request's arrival to its answer, by route and status class " +
        "(refusals included; a send's includes the upstream call).",
      HTTP_BUCKETS,
      () => state.http.values(),
    ) as never,
  );
  registry.registerMetric(
    histogram(
      "otp_gateway_delivery_seconds",
      "SMS deliveries that ended, by destination country and how (delivered, failed, or unknown: the code " +
        "expired before the upstream said), in seconds from the send (DELIVERY_STATUS=poll).",
      DELIVERY_BUCKETS,
      () => state.deliveries.values(),
    ) as never,
  );
  new Gauge({
    name: "otp_gateway_pumping_blocks_active",
    help: "Blocks and ranges the pumping guard holds blocked now (all gateways: read from the store when scraped).",
    registers,
    async collect() {
      const read = state.activeBlocks;
      if (!read) return;
      // The store unreachable: the series goes missing for this scrape rather than read 0.
      await read().then(
        (count) => this.set(count),
        () => this.reset(),
      );
    },
  });
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
    "Sends counted in a send budget's window, every gateway's (read from the store at each scrape).",
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
  return async () => {
    await state.beforeScrape?.().catch(() => undefined);
    return { contentType: registry.contentType, body: await registry.metrics() };
  };
}

/** A histogram prom-client renders from our own series (their buckets counted in metrics.ts, not cumulative). */
function histogram(
  name: string,
  help: string,
  bounds: readonly number[],
  series: () => Iterable<HistogramSeries>,
) {
  const get = async () => {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const { labels, buckets, sum, count } of series()) {
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += buckets[i] ?? 0;
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: "+Inf" }, value: count });
      values.push({ metricName: `${name}_sum`, labels, value: sum });
      values.push({ metricName: `${name}_count`, labels, value: count });
    }
    return { name, help, type: "histogram", aggregator: "sum", values };
  };
  return { name, help, type: "histogram", aggregator: "sum", get, reset() {} };
}
