import { Elysia, t } from "elysia";
import type { SmsProvider } from "../../adapters/sms/interface";
import type { OtpStore } from "../../adapters/store/interface";
import { singleFlight } from "../../lib/single-flight";

export interface HealthDeps {
  provider: SmsProvider;
  store: OtpStore;
}

const Check = t.Object({ ok: t.Boolean(), detail: t.String() });
const Readiness = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("not_ready")]),
  checks: t.Object({ store: Check, upstream: Check }),
});

/**
 * Liveness and readiness. Readiness fails only on the gateway's own
 * dependency, its store (Redis): without it every send fails closed. The SMS
 * provider's reachability is reported but does not fail it: taking every
 * replica out of a load balancer because the shared upstream is down would turn
 * clean 502 answers into connection errors.
 */
export function healthController({ provider, store }: HealthDeps) {
  // One ping in flight at a time, shared by every caller: a /readyz flood (it needs no token)
  // makes one Redis ping at a time; the provider merges its own probes likewise.
  const pingStore = singleFlight(() =>
    store.ping().then(
      () => ({ ok: true, detail: store.kind }),
      () => ({ ok: false, detail: `${store.kind} does not answer` }),
    ),
  );
  return new Elysia({ name: "health", tags: ["Health"] })
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { summary: "Liveness: the process answers" },
    })
    .get(
      "/readyz",
      async ({ status }) => {
        const [storeCheck, upstream] = await Promise.all([pingStore(), provider.health()]);
        const checks = { store: storeCheck, upstream };
        return storeCheck.ok ? { status: "ready" as const, checks } : status(503, { status: "not_ready" as const, checks });
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: {
          summary: "Readiness: the gateway's store answers",
          description: "`upstream` is informational and never makes this fail.",
        },
      },
    );
}
