import { createApp, type AppDeps } from "../../src/app";
import { ConsoleProvider } from "../../src/adapters/sms/console";
import type { SmsProvider } from "../../src/adapters/sms/interface";
import { StartMessagingProvider, type StartMessagingOptions } from "../../src/adapters/sms/startmessaging";
import { createLogger, type Logger } from "../../src/lib/logger";

/** A logger that keeps its lines, so tests can read what would have been logged. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: "debug", write: (line) => lines.push(line) }), lines };
}

export function testApp(provider: SmsProvider, logger: Logger, overrides: Partial<AppDeps> = {}) {
  const app = createApp({ logger, provider, maxBodySize: 16_384, idleTimeoutSeconds: 30, exposeVerifyReason: false, ...overrides });
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

export function consoleProvider(logger: Logger, options: { now?: () => number; ttlMs?: number } = {}) {
  return new ConsoleProvider({ codeLength: 6, ttlMs: options.ttlMs ?? 300_000, maxAttempts: 3, logger, now: options.now });
}

export function startMessaging(baseUrl: string, logger: Logger, overrides: Partial<StartMessagingOptions> = {}) {
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
export function codeFromLog(lines: string[], requestId: string): string {
  for (const line of lines) {
    const entry = JSON.parse(line) as { requestId?: string; code?: string; msg?: string };
    if (entry.requestId === requestId && entry.msg?.startsWith("console provider: OTP code")) return entry.code!;
  }
  throw new Error(`no code logged for ${requestId}`);
}
