import { expect } from "bun:test";
import { ConsoleProvider } from "../../src/adapters/sms/console";
import type { SmsProvider } from "../../src/adapters/sms/port";
import { type StartMessagingOptions, StartMessagingProvider } from "../../src/adapters/sms/startmessaging";
import { MemoryStore } from "../../src/adapters/store/memory/index";
import type { OtpStore } from "../../src/adapters/store/port";
import { type AppDeps, createApp } from "../../src/app";
import { buildServices } from "../../src/composition-root";
import { loadConfig } from "../../src/config/index";
import { parseVerificationId } from "../../src/domain/ids";
import { createLogger, type Logger } from "../../src/observability/logger";
import type { Metrics } from "../../src/observability/metrics";
import { must } from "./given";

/** A logger that keeps its lines, so tests can read what would have been logged. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: "debug", write: (line) => lines.push(line) }), lines };
}

/** Limits high enough that tests about other things never meet them. */
export const RELAXED_ENV: Record<string, string> = {
  IP_SEND_LIMITS: "10000/1s",
  IP_VERIFY_LIMITS: "10000/1s",
  IPV4_SUBNET_SEND_LIMITS: "10000/1s",
  IPV6_SUBNET_SEND_LIMITS: "10000/1s",
  SEND_BUDGETS: "*=100000000/1s",
  PUMPING_MIN_SENDS: "1000000",
  PUMPING_UNPROVEN_BLOCK: "0",
  PUMPING_UNPROVEN_RANGE: "0",
  BUDGET_RESERVE: "0",
  PHONE_SEND_LIMITS: "10000/1s",
  PHONE_VERIFY_LIMITS: "10000/1s",
  ALLOWED_COUNTRIES: "*",
};

/** The pumping guard's policy as the shipped defaults build it (src/composition-root.ts). */
export function defaultPumpingPolicy() {
  return buildServices(loadConfig({}), createLogger({ level: "silent" })).policy.pumping;
}

/** Under app.handle there is no socket: tests name the peer in this header. */
export const TEST_PEER_HEADER = "x-test-peer";

export interface TestAppOptions {
  /** Environment on top of RELAXED_ENV, parsed like the real one. */
  env?: Record<string, string>;
  /** Default: a fresh MemoryStore. */
  store?: OtpStore;
  /** Default: a fresh PromMetrics (pass the provider's, to see its upstream metrics). */
  metrics?: Metrics;
  exposeVerifyReason?: boolean;
}

/** AppDeps as production builds them (src/composition-root.ts), with the given provider and store. */
export function testDeps(provider: SmsProvider, logger: Logger, options: TestAppOptions = {}): AppDeps {
  const config = loadConfig({ ...RELAXED_ENV, ...options.env });
  const deps = buildServices(config, createLogger({ level: "silent" }));
  return {
    ...deps,
    logger,
    provider,
    store: options.store ?? new MemoryStore(),
    metrics: options.metrics ?? deps.metrics,
    policy: { ...deps.policy, exposeReason: options.exposeVerifyReason ?? deps.policy.exposeReason },
    http: { ...deps.http, peerAddress: (request) => request.headers.get(TEST_PEER_HEADER) ?? "127.0.0.1" },
  };
}

export function testApp(provider: SmsProvider, logger: Logger, options: TestAppOptions = {}) {
  const app = createApp(testDeps(provider, logger, options));
  return {
    app,
    /** POSTs JSON through app.handle (no socket). */
    post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
      return app.handle(
        new Request(`http://localhost${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
      );
    },
    get(path: string, headers: Record<string, string> = {}): Promise<Response> {
      return app.handle(new Request(`http://localhost${path}`, { headers }));
    },
  };
}

/** Expects a problem+json answer with `status` and `code`; returns its body. */
export async function problem(res: Response, status: number, code: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(JSON.parse(text).code).toBe(code);
  return JSON.parse(text);
}

export function consoleProvider(logger: Logger, options: { now?: () => number; ttlMs?: number } = {}) {
  return new ConsoleProvider({
    codeLength: 6,
    ttlMs: options.ttlMs ?? 300_000,
    maxAttempts: 3,
    logger,
    now: options.now,
  });
}

export function startMessaging(
  baseUrl: string,
  logger: Logger,
  overrides: Partial<StartMessagingOptions> = {},
) {
  return new StartMessagingProvider({
    baseUrl,
    apiKey: "sm_test_fake_key",
    timeoutMs: 1_000,
    retries: 2,
    retryBackoffMs: 5,
    codeLength: 6,
    ttlMs: 300_000,
    maxAttempts: 3,
    logger,
    ...overrides,
  });
}

/** The code the console provider printed for a request id. */
export function codeFromLog(lines: string[], gatewayId: string): string {
  // The provider logs its own id, which the gateway's carries.
  const requestId = parseVerificationId(gatewayId)?.inner ?? gatewayId;
  for (const line of lines) {
    const entry = JSON.parse(line) as { providerId?: string; code?: string; msg?: string };
    if (entry.providerId === requestId && entry.msg?.startsWith("console provider: OTP code")) {
      return must(entry.code, `a code in the log line for ${requestId}`);
    }
  }
  throw new Error(`no code logged for ${requestId}`);
}
