import { Elysia } from "elysia";
import type { IpLimiter } from "./adapters/limits/ip-limiter";
import type { SmsProvider } from "./adapters/sms/port";
import type { OtpStore } from "./adapters/store/port";
import type { TrustProxy } from "./domain/client-ip";
import { type AdminAccess, adminCheck } from "./http/admin-access";
import { cors } from "./http/cors";
import { guard, type PeerAddress, socketPeer } from "./http/guard";
import { RouteMethods } from "./http/methods";
import { openapiDocs } from "./http/openapi";
import { requestContext } from "./http/request-context";
import { RequestMetas, requestLog } from "./http/request-meta";
import { adminController } from "./modules/admin";
import { AdminService } from "./modules/admin/service";
import { healthController } from "./modules/health";
import { metricsController } from "./modules/ops";
import { otpController } from "./modules/otp";
import type { OtpPolicy } from "./modules/otp/policy";
import { OtpService } from "./modules/otp/service";
import { problemPages } from "./modules/problems";
import type { Logger } from "./observability/logger";
import type { Metrics } from "./observability/metrics";

export interface HttpOptions {
  maxBodySize: number;
  idleTimeoutSeconds: number;
  trustProxy: TrustProxy;
  /** Caller keys; empty: no key needed. */
  apiKeys: readonly string[];
  /** Browser origins allowed by CORS; empty: no CORS headers; `*`: any. */
  corsOrigins: readonly string[];
  /** Where the socket peer's address comes from. Default: Bun's server. */
  peerAddress?: PeerAddress;
  /** /metrics and the docs: public, behind adminToken, or not mounted. */
  metricsAccess: AdminAccess;
  docsAccess: AdminAccess;
  adminToken: string;
}

/** Everything the app needs, built in one place (src/composition-root.ts) or by a test. */
export interface AppDeps {
  logger: Logger;
  provider: SmsProvider;
  store: OtpStore;
  ipLimiter: IpLimiter;
  metrics: Metrics;
  policy: OtpPolicy;
  http: HttpOptions;
}

export function createApp(deps: AppDeps) {
  const { http } = deps;
  const metas = new RequestMetas(deps.logger, deps.metrics);
  // Read at request time, once every route below is registered.
  const methods = new RouteMethods(() => app.routes);
  const context = requestContext({
    metas,
    metrics: deps.metrics,
    maxBodySize: http.maxBodySize,
    allow: (path) => methods.allow(path),
  });
  const otp = new OtpService({
    provider: deps.provider,
    store: deps.store,
    policy: deps.policy,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const app = new Elysia({
    // `/v1/otp/send/` is not `/v1/otp/send`: one spelling per route.
    strictPath: true,
    // Find the path after `http://` (7), not after 11 characters: `Host: otp` is a
    // fine host name, and the guard refuses any request the two would read apart.
    handler: { standardHostname: false },
    serve: {
      idleTimeout: http.idleTimeoutSeconds,
      // Bun would refuse a larger declared body itself, with a bare 413 and no log line:
      // no cap of Bun's, so that every refusal is ours (problem+json, logged, counted).
      // Nothing reads a body past MAX_BODY_SIZE: a declared one is refused before it is
      // read (json-body.ts), a chunked one is counted as it arrives and cut there.
      maxRequestBodySize: Number.POSITIVE_INFINITY,
    },
  }).use(requestLog(metas));
  // Before the guard, so that a browser can read a 429 or 401 too.
  if (http.corsOrigins.length > 0) app.use(cors(http.corsOrigins, metas));
  app
    // Every POST meets the per-IP limit before anything else, an oversize body included.
    .use(
      guard({
        metas,
        metrics: deps.metrics,
        ipLimiter: deps.ipLimiter,
        trustProxy: http.trustProxy,
        apiKeys: http.apiKeys,
        peerAddress: http.peerAddress ?? socketPeer,
        cors: http.corsOrigins.length > 0,
      }),
    )
    .use(context);
  // The document is made, on the first request for it, from the routes mounted below (admin ones only with ADMIN_TOKEN).
  if (http.docsAccess !== "off") {
    app.use(
      openapiDocs({
        admin: Boolean(http.adminToken),
        routes: () => app.routes,
        authorize: adminCheck(http.docsAccess, http.adminToken),
        consoleCodes: deps.provider.name === "console",
      }),
    );
  }
  // Every problem's `type` links here: public, whatever DOCS_ACCESS says (it tells nothing the README does not).
  app.use(problemPages());
  if (http.metricsAccess !== "off") {
    app.use(metricsController(deps.metrics, adminCheck(http.metricsAccess, http.adminToken)));
  }
  if (http.adminToken) {
    const admin = new AdminService({
      store: deps.store,
      budgets: deps.policy.sendBudgets,
      pumping: deps.policy.pumping,
      unproven: deps.policy.unproven,
      testNumbers: deps.policy.testNumbers,
      logger: deps.logger,
    });
    app.use(adminController(admin, context, adminCheck("token", http.adminToken)));
  }
  return (
    app
      .use(healthController({ provider: deps.provider, store: deps.store }))
      .use(otpController(otp, context))
      // Stopped with the server: no delivery is asked after it (nor by a test's app once it is done).
      .onStop(() => otp.stop())
  );
}

export type App = ReturnType<typeof createApp>;
