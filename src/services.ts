import type { AppDeps } from "./app";
import { ConsoleProvider } from "./adapters/sms/console";
import type { SmsProvider } from "./adapters/sms/interface";
import { StartMessagingProvider } from "./adapters/sms/startmessaging";
import type { Config } from "./config";
import { createLogger, type Logger } from "./lib/logger";

/** The one place that turns configuration into the parts of the app. Tests build AppDeps their own way. */
export function buildServices(config: Config, logger: Logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT })): AppDeps {
  return {
    logger,
    provider: buildProvider(config, logger),
    maxBodySize: config.MAX_BODY_SIZE,
    idleTimeoutSeconds: config.IDLE_TIMEOUT_S,
    exposeVerifyReason: config.VERIFY_EXPOSE_REASON,
  };
}

function buildProvider(config: Config, logger: Logger): SmsProvider {
  if (config.OTP_PROVIDER === "startmessaging") {
    return new StartMessagingProvider({
      baseUrl: config.STARTMESSAGING_BASE_URL,
      apiKey: config.STARTMESSAGING_API_KEY,
      templateId: config.STARTMESSAGING_TEMPLATE_ID || undefined,
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
      retries: config.UPSTREAM_RETRIES,
      retryBackoffMs: config.UPSTREAM_RETRY_BACKOFF_MS,
      codeLength: config.OTP_LENGTH,
      ttlMs: config.OTP_TTL_MS,
      maxAttempts: config.OTP_MAX_ATTEMPTS,
      logger: logger.child({ component: "startmessaging" }),
    });
  }
  logger.warn(
    "CONSOLE PROVIDER: no SMS is sent; codes are printed in this log. For trying the gateway only. Set STARTMESSAGING_API_KEY to send real SMS.",
  );
  return new ConsoleProvider({
    codeLength: config.OTP_LENGTH,
    ttlMs: config.OTP_TTL_MS,
    maxAttempts: config.OTP_MAX_ATTEMPTS,
    logger: logger.child({ component: "console-provider" }),
  });
}
