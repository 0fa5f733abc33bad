import { Elysia, t } from "elysia";
import type { SmsProvider } from "../../adapters/sms/port";
import type { StoreLifecycle } from "../../adapters/store/port";
import { answer, type OperationDetail, SECURITY } from "../../http/openapi-detail";
import { singleFlight } from "../../lib/single-flight";

export interface HealthDeps {
  provider: SmsProvider;
  store: StoreLifecycle;
}

const Check = t.Object({
  ok: t.Boolean(),
  detail: t.String({
    description: "What was found, e.g. `redis`, `reachable (HTTP 404)`, `timeout`.",
    examples: ["redis"],
  }),
});
const Liveness = t.Object({ status: t.Literal("ok") });
const Readiness = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("not_ready")]),
  checks: t.Object({
    store: {
      ...Check,
      description: "The gateway's store (Redis, or memory): without it every send fails closed.",
    },
    upstream: {
      ...Check,
      description: "Whether the SMS provider answers at all; informational, never makes this fail.",
    },
  }),
});

/** The models the probes name: each is `components.schemas[name]` in the document. */
const HealthModels = { Liveness, Readiness };

/** The probes in the OpenAPI document: no key, and no problem answers (they take no input). */
const probe = (
  detail: Pick<OperationDetail, "operationId" | "summary" | "description" | "responses">,
): OperationDetail => ({
  ...detail,
  tags: ["Health"],
  security: SECURITY.none,
});

const LIVENESS_DETAIL = probe({
  operationId: "checkLiveness",
  summary: "Liveness: the process answers",
  description:
    'Always `{"status": "ok"}` while the process serves; for a container\'s liveness probe. No key needed.',
  responses: { 200: answer("The process is alive.") },
});

const READINESS_DETAIL = probe({
  operationId: "checkReadiness",
  summary: "Readiness: the gateway's store answers",
  description:
    "200 while the store answers, 503 (the same JSON, `not_ready`) while it does not. `upstream` is " +
    "informational and never makes this fail: the SMS provider is shared by every replica. No key needed.",
  responses: {
    200: answer("Ready: sends and verifies can be served."),
    503: answer("Not ready: the store does not answer, so sends and verifies fail closed."),
  },
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
      () => ({ ok: false, detail: store.problem?.() ?? `${store.kind} does not answer` }),
    ),
  );
  return new Elysia({ name: "health" })
    .model(HealthModels)
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: { 200: "Liveness" },
      detail: LIVENESS_DETAIL,
    })
    .get(
      "/readyz",
      async ({ status }) => {
        const [storeCheck, upstream] = await Promise.all([pingStore(), provider.health()]);
        const checks = { store: storeCheck, upstream };
        return storeCheck.ok
          ? { status: "ready" as const, checks }
          : status(503, { status: "not_ready" as const, checks });
      },
      { response: { 200: "Readiness", 503: "Readiness" }, detail: READINESS_DETAIL },
    );
}
