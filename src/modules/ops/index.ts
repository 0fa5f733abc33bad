import { Elysia } from "elysia";
import type { Metrics } from "../../lib/metrics";

/** GET /metrics in Prometheus text format; `authorize` throws when the caller may not read it. */
export function metricsController(metrics: Metrics, authorize: (request: Request) => void) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async ({ request }) => {
      authorize(request);
      const { contentType, body } = await metrics.render();
      return new Response(body, { headers: { "content-type": contentType } });
    },
    { detail: { hide: true } },
  );
}
