import { Elysia } from "elysia";
import { sharedFor } from "../../lib/single-flight";
import type { Metrics } from "../../observability/metrics";

/**
 * How long one rendering of the page is served. Prometheus scrapes every 5 s or more
 * seldom; a stranger looping on a public /metrics gets the same text, for the cost of
 * a cached answer, instead of a rendering per request (milliseconds of CPU each).
 */
export const METRICS_MAX_AGE_MS = 1_000;

/** GET /metrics in Prometheus text format; `authorize` throws when the caller may not read it. */
export function metricsController(metrics: Metrics, authorize: (request: Request) => void) {
  const page = sharedFor(METRICS_MAX_AGE_MS, () => metrics.render());
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async ({ request }) => {
      authorize(request);
      const { contentType, body } = await page();
      return new Response(body, { headers: { "content-type": contentType } });
    },
    { detail: { hide: true } },
  );
}
