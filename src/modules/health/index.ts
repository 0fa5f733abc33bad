import { Elysia, t } from "elysia";
import type { SmsProvider } from "../../adapters/sms/interface";

export interface HealthDeps {
  provider: SmsProvider;
}

const Check = t.Object({ ok: t.Boolean(), detail: t.String() });
const Readiness = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("not_ready")]),
  checks: t.Record(t.String(), Check),
});

/**
 * Liveness and readiness. Readiness fails only on the gateway's own
 * dependencies; the SMS provider's reachability is reported but does not fail
 * it: taking every replica out of a load balancer because the shared upstream
 * is down would turn clean 502 answers into connection errors.
 */
export function healthController({ provider }: HealthDeps) {
  return new Elysia({ name: "health", tags: ["Health"] })
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { summary: "Liveness: the process answers" },
    })
    .get(
      "/readyz",
      async ({ status }) => {
        const upstream = await provider.health();
        const checks = { provider: { ok: true, detail: provider.name }, upstream };
        const ready = Object.entries(checks).every(([name, check]) => name === "upstream" || check.ok);
        return ready ? { status: "ready" as const, checks } : status(503, { status: "not_ready" as const, checks });
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: { summary: "Readiness: the gateway's own dependencies answer", description: "`upstream` is informational and never makes this fail." },
      },
    );
}
