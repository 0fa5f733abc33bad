import { expect } from "bun:test";
import type { OtpStore } from "../../src/adapters/store/port";
import { PromMetrics } from "../../src/observability/metrics";
import { captureLogger, startMessaging, testDeps } from "./harness";
import { listenApp } from "./socket";

/** A gateway on a socket whose delivery polls wait `backoffMs`; `env` on top of the test defaults. */
export function deliveryGateway(
  upstreamUrl: string,
  env: Record<string, string> = {},
  options: { backoffMs?: number[]; store?: OtpStore; codeTtlMs?: number } = {},
) {
  const { logger, lines } = captureLogger();
  const metrics = new PromMetrics({ version: "test", defaultMetrics: false });
  // The reference shape's send answer has no expiry: the code lives the provider's own ttl.
  const provider = startMessaging(upstreamUrl, logger, options.codeTtlMs ? { ttlMs: options.codeTtlMs } : {});
  const deps = testDeps(provider, logger, {
    env: { ALLOWED_COUNTRIES: "IN", ...env },
    metrics,
    ...(options.store ? { store: options.store } : {}),
  });
  const policy = {
    ...deps.policy,
    delivery: { ...deps.policy.delivery, backoffMs: options.backoffMs ?? [40, 80] },
  };
  const server = listenApp({ ...deps, policy });
  const send = async (phone: string) => {
    const res = await fetch(`${server.base}/v1/otp/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { verificationId: string }).verificationId;
  };
  const delivery = async (id: string) => {
    const res = await fetch(`${server.base}/v1/otp/${id}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { delivery: { status: string; updatedAt: string } }).delivery;
  };
  const page = async () => (await metrics.render()).body;
  return { ...server, send, delivery, page, lines };
}
