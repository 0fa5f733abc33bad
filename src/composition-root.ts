import pkg from "../package.json" with { type: "json" };
import { LruIpLimiter } from "./adapters/limits/ip-limiter";
import { ConsoleProvider } from "./adapters/sms/console";
import type { SmsProvider } from "./adapters/sms/port";
import { StartMessagingProvider } from "./adapters/sms/startmessaging";
import { MemoryStore } from "./adapters/store/memory/index";
import type { OtpStore } from "./adapters/store/port";
import { RedisStore } from "./adapters/store/redis/index";
import type { AppDeps } from "./app";
import type { Config } from "./config/index";
import { unprovenBounds } from "./domain/pumping";
import { ratePolicy } from "./domain/rate-policy";
import { withReserve } from "./domain/send-budget";
import { createLogger, type Logger } from "./observability/logger";
import { type Metrics, PromMetrics } from "./observability/metrics";

/** The one place that turns configuration into the parts of the app. Tests build AppDeps their own way. */
export function buildServices(
  config: Config,
  logger: Logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
): AppDeps {
  const metrics = new PromMetrics({ version: pkg.version });
  warnOfTestNumbers(config, logger);
  for (const warning of config.warnings) logger.warn(warning);
  const store = buildStore(config, logger, metrics);
  return {
    logger,
    metrics,
    provider: buildProvider(config, logger, metrics),
    store,
    ipLimiter: new LruIpLimiter({
      send: {
        host: config.IP_SEND_LIMITS && ratePolicy("ip", config.IP_SEND_LIMITS),
        v4Subnet: config.IPV4_SUBNET_SEND_LIMITS && ratePolicy("subnet", config.IPV4_SUBNET_SEND_LIMITS),
        v6Subnet: config.IPV6_SUBNET_SEND_LIMITS && ratePolicy("subnet", config.IPV6_SUBNET_SEND_LIMITS),
      },
      verify: { host: config.IP_VERIFY_LIMITS && ratePolicy("ip", config.IP_VERIFY_LIMITS) },
      get: config.IP_GET_LIMITS && {
        host: ratePolicy("get", config.IP_GET_LIMITS),
        v4Subnet: config.SUBNET_GET_LIMITS && ratePolicy("get-subnet", config.SUBNET_GET_LIMITS),
        v6Subnet: config.SUBNET_GET_LIMITS && ratePolicy("get-subnet", config.SUBNET_GET_LIMITS),
      },
      maxEntries: config.IP_LRU_MAX,
    }),
    policy: {
      phoneSend: ratePolicy("phone", config.PHONE_SEND_LIMITS),
      phoneVerify: ratePolicy("verify", config.PHONE_VERIFY_LIMITS),
      allowedCountries: config.ALLOWED_COUNTRIES,
      maxAttempts: config.OTP_MAX_ATTEMPTS,
      idempotencyTtlMs: config.IDEMPOTENCY_TTL,
      // The reserve is for returning users, whom only a gateway that sees the verifies knows: enforced
      // with the guard enforced, counted and logged in monitor mode, none with the guard off.
      sendBudgets: config.SEND_BUDGETS.map((budget) =>
        withReserve(budget, config.PUMPING_GUARD === "enforce" ? config.BUDGET_RESERVE / 100 : 0),
      ),
      budgetReserve: config.PUMPING_GUARD === "off" ? 0 : config.BUDGET_RESERVE / 100,
      pumping: {
        mode: config.PUMPING_GUARD,
        dropDigits: config.PUMPING_PREFIX_DROP,
        rangeDropDigits: config.PUMPING_RANGE_DROP,
        windowMs: config.PUMPING_WINDOW,
        // The last window / 24 (never less than a code's lifetime) in 60 buckets; older counts are folded.
        bucketMs: Math.max(1, Math.ceil(Math.max(config.PUMPING_WINDOW / 24, config.OTP_TTL) / 60)),
        // A send is judged once its code can no longer be verified.
        maturityMs: config.OTP_TTL,
        minSends: config.PUMPING_MIN_SENDS,
        minConversion: config.PUMPING_MIN_CONVERSION / 100,
        blockMs: config.PUMPING_BLOCK,
        blockMaxMs: Math.max(config.PUMPING_BLOCK, config.PUMPING_BLOCK_MAX),
        safeList: config.PUMPING_SAFE_LIST,
      },
      unproven: unprovenBounds(
        config.PUMPING_UNPROVEN_BLOCK,
        config.PUMPING_UNPROVEN_RANGE,
        config.PUMPING_UNPROVEN_WINDOW,
      ),
      returning: config.RETURNING_USERS === undefined ? undefined : { windowMs: config.RETURNING_USERS },
      smsPrices: config.SMS_PRICES,
      // A claim outlives the slowest possible send, then frees itself if its gateway died.
      idempotencyPendingMs: config.IDLE_TIMEOUT_S * 1000,
      idempotencyRetries: config.IDEMPOTENCY_RETRIES,
      exposeReason: config.VERIFY_EXPOSE_REASON,
      testNumbers: config.TEST_PHONES,
      otpTtlMs: config.OTP_TTL,
      verificationKeepMs: config.VERIFICATION_KEEP,
      delivery: {
        mode: config.DELIVERY_STATUS,
        pace: ratePolicy("delivery", config.DELIVERY_POLL_PACE),
        // About a minute of sends at a few hundred a second: each followed delivery is a timer and a small object.
        maxTracked: 50_000,
      },
    },
    http: {
      maxBodySize: config.MAX_BODY_SIZE,
      idleTimeoutSeconds: config.IDLE_TIMEOUT_S,
      trustProxy: config.TRUST_PROXY,
      apiKeys: config.GATEWAY_API_KEYS,
      corsOrigins: config.CORS_ORIGINS,
      metricsAccess: config.METRICS_ACCESS,
      docsAccess: config.DOCS_ACCESS,
      adminToken: config.ADMIN_TOKEN,
    },
  };
}

function buildStore(config: Config, logger: Logger, metrics: Metrics): OtpStore {
  const layout = { dropDigits: config.PUMPING_PREFIX_DROP, rangeDropDigits: config.PUMPING_RANGE_DROP };
  if (config.REDIS_CLUSTER_NODES.nodes.length > 0 || config.REDIS_URL) {
    return new RedisStore({
      url: config.REDIS_URL || undefined,
      cluster: config.REDIS_CLUSTER_NODES,
      tlsCa: config.REDIS_TLS_CA_FILE,
      layout,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT,
      logger: logger.child({ component: "redis" }),
      metrics,
    });
  }
  logger.warn(
    "no REDIS_URL: limits and state are kept in this process's memory (lost on restart, not shared between processes)",
  );
  return new MemoryStore({ layout });
}

function buildProvider(config: Config, logger: Logger, metrics: Metrics): SmsProvider {
  if (config.OTP_PROVIDER === "startmessaging") {
    return new StartMessagingProvider({
      baseUrl: config.STARTMESSAGING_BASE_URL,
      apiKey: config.STARTMESSAGING_API_KEY,
      templateId: config.STARTMESSAGING_TEMPLATE_ID || undefined,
      timeoutMs: config.UPSTREAM_TIMEOUT,
      retries: config.UPSTREAM_RETRIES,
      retryBackoffMs: config.UPSTREAM_RETRY_BACKOFF,
      codeLength: config.OTP_LENGTH,
      ttlMs: config.OTP_TTL,
      maxAttempts: config.OTP_MAX_ATTEMPTS,
      logger: logger.child({ component: "startmessaging" }),
      metrics,
    });
  }
  logger.warn(
    "CONSOLE PROVIDER: no SMS is sent; codes are printed in this log. For trying the gateway only. " +
      "Set STARTMESSAGING_API_KEY to send real SMS.",
  );
  return new ConsoleProvider({
    codeLength: config.OTP_LENGTH,
    ttlMs: config.OTP_TTL,
    maxAttempts: config.OTP_MAX_ATTEMPTS,
    logger: logger.child({ component: "console-provider" }),
  });
}

/** Test numbers are allowed in production (app-store reviewers test it); say so at start, never their codes. */
function warnOfTestNumbers(config: Config, logger: Logger): void {
  if (config.TEST_PHONES.size === 0) return;
  const now = Date.now();
  const expired = [...config.TEST_PHONES.values()].filter(
    (p) => p.until !== undefined && p.until < now,
  ).length;
  logger.warn(
    "test phone numbers are configured: they never reach the upstream and verify only with their fixed codes",
    {
      count: config.TEST_PHONES.size - expired,
      ...(expired ? { expired } : {}),
    },
  );
}
