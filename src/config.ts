import { Type as T, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { DURATION_PATTERN, parseDuration } from "./lib/duration";
import { LOG_LEVELS } from "./lib/logger";
import { LIMITS_PATTERN, parseLimits, type Window } from "./lib/rate-window";
import { parseTrustProxy, type TrustProxy } from "./http/client-ip";

const Duration = (fallback: string, description: string) =>
  T.String({ pattern: DURATION_PATTERN, default: fallback, description, examples: ["500ms", "30s", "10m", "24h"] });
const Limits = (fallback: string, description: string) =>
  T.String({ pattern: LIMITS_PATTERN, default: fallback, description: `${description} Format: count/duration, comma-separated.` });
const Int = (fallback: number, minimum: number, maximum: number, description: string) =>
  T.Integer({ minimum, maximum, default: fallback, description });

/**
 * `bun build --compile` replaces `process.env.NODE_ENV` with "production" at build
 * time, so a compiled binary defaults to production; from source it is development.
 */
const DEFAULT_NODE_ENV = process.env.NODE_ENV === "production" ? "production" : "development";

/**
 * Every environment variable the gateway reads, with its default. This schema is
 * the single source for parsing, for `--help` and for the README table.
 */
export const EnvSchema = T.Object({
  PORT: Int(3000, 0, 65535, "TCP port to listen on."),
  HOST: T.String({ minLength: 1, default: "0.0.0.0", description: "Address to bind." }),
  NODE_ENV: T.String({
    default: DEFAULT_NODE_ENV,
    description: "`production` refuses the console provider unless OTP_PROVIDER=console is set. Compiled binaries default to production.",
  }),
  OTP_PROVIDER: T.Union([T.Literal("auto"), T.Literal("startmessaging"), T.Literal("console")], {
    default: "auto",
    description: "`startmessaging`, `console`, or `auto`: startmessaging when STARTMESSAGING_API_KEY is set, else console.",
  }),
  STARTMESSAGING_API_KEY: T.String({ default: "", description: "StartMessaging API key (sent as X-API-Key). Never logged." }),
  STARTMESSAGING_BASE_URL: T.String({
    pattern: "^https?://[^\\s]+$",
    default: "https://api.startmessaging.com",
    description: "StartMessaging API base URL.",
  }),
  STARTMESSAGING_TEMPLATE_ID: T.String({ default: "", description: "Optional templateId sent with every OTP." }),
  UPSTREAM_TIMEOUT: Duration("10s", "Timeout of one upstream HTTP attempt, body included."),
  UPSTREAM_RETRIES: Int(2, 0, 5, "Extra attempts of a send after an upstream 5xx or connection error (same idempotency key)."),
  UPSTREAM_RETRY_BACKOFF: Duration("200ms", "Base of the exponential backoff between send attempts (full jitter)."),
  OTP_LENGTH: Int(6, 4, 8, "Digits in a generated code."),
  OTP_TTL: Duration("5m", "How long a code stays valid (used when the upstream does not say)."),
  OTP_MAX_ATTEMPTS: Int(3, 1, 10, "Verify attempts per code (used when the upstream does not say)."),
  VERIFY_EXPOSE_REASON: T.Union([T.Literal("true"), T.Literal("false")], {
    default: "false",
    description: "Add `reason` (wrong_code, expired, unknown, exhausted) to verify answers. Off by default: one generic answer leaks less.",
  }),
  REDIS_URL: T.String({ pattern: "^$|^rediss?://", default: "", description: "Redis for shared limits and state (`redis://` or `rediss://`). Unset: an in-memory store (one process only)." }),
  REDIS_CLUSTER_NODES: T.String({
    pattern: "^$|^[^,:\\s]+:[0-9]+(,[^,:\\s]+:[0-9]+)*$",
    default: "",
    description: "Redis Cluster seed nodes, `host:port,host:port`; used instead of REDIS_URL when set.",
  }),
  REDIS_COMMAND_TIMEOUT: Duration("500ms", "A Redis command with no answer after this fails; sends and verifies then fail closed (503)."),
  PHONE_SEND_LIMITS: Limits("1/1m,3/10m,5/1h,10/24h", "Sends per phone number, every window enforced exactly."),
  PHONE_VERIFY_LIMITS: Limits("10/10m,30/24h", "Verify attempts per phone number."),
  IP_SEND_LIMITS: Limits("5/1m,20/10m,50/1h", "Sends per client address (IPv6 by /64)."),
  IP_VERIFY_LIMITS: Limits("10/1m,60/1h", "Verifies per client address (IPv6 by /64)."),
  IP_LRU_MAX: Int(100_000, 1_000, 10_000_000, "Client addresses remembered for per-IP limits (memory stays flat at this cap)."),
  TRUST_PROXY: T.String({
    default: "false",
    description: "`false`: X-Forwarded-For is ignored. A number: that many proxies in front. Or a comma list of proxy CIDRs.",
  }),
  ALLOWED_COUNTRIES: T.String({
    pattern: "^(\\*|[A-Za-z]{2}(,[A-Za-z]{2})*)$",
    default: "IN",
    description: "ISO 3166 codes a send may go to, or `*` for any. Default IN: StartMessaging is India-first, and SMS pumping lives on international routes.",
  }),
  GATEWAY_API_KEYS: T.String({ default: "", description: "Comma list of caller keys. When set, send and verify need `Authorization: Bearer <key>`. Never logged." }),
  CORS_ORIGINS: T.String({ default: "", description: "Comma list of browser origins allowed to call the API, or `*`. Unset: no CORS headers." }),
  IDEMPOTENCY_TTL: Duration("24h", "How long an Idempotency-Key replays its first answer."),
  METRICS_ACCESS: T.Union([T.Literal("public"), T.Literal("token"), T.Literal("off")], {
    default: "public",
    description: "GET /metrics: `public`, `token` (needs ADMIN_TOKEN) or `off`.",
  }),
  DOCS_ACCESS: T.Union([T.Literal("public"), T.Literal("token"), T.Literal("off")], {
    default: "public",
    description: "/swagger and /swagger/json: `public`, `token` (needs ADMIN_TOKEN; browsers get a password prompt) or `off`.",
  }),
  ADMIN_TOKEN: T.String({ default: "", description: "Token for METRICS_ACCESS or DOCS_ACCESS = token (16 characters or more). Never logged." }),
  WORKERS: Int(1, 1, 64, "Processes serving one port (SO_REUSEPORT). Per-IP limits are per process: see README."),
  SHUTDOWN_GRACE: Duration("10s", "On SIGTERM or SIGINT: how long requests in flight may take to finish before they are cut."),
  MAX_BODY_SIZE: Int(16384, 256, 1048576, "Largest request body in bytes; larger bodies get 413."),
  LOG_LEVEL: T.Union(LOG_LEVELS.map((l) => T.Literal(l)), { default: "info", description: "debug, info, warn, error or silent." }),
  LOG_FORMAT: T.Union([T.Literal("json"), T.Literal("pretty")], { default: "json", description: "`json` lines or `pretty` for a terminal." }),
});

type Env = Static<typeof EnvSchema>;

/** The parsed configuration: durations in milliseconds, flags as booleans. */
type Derived =
  | "UPSTREAM_TIMEOUT"
  | "UPSTREAM_RETRY_BACKOFF"
  | "OTP_TTL"
  | "VERIFY_EXPOSE_REASON"
  | "OTP_PROVIDER"
  | "REDIS_COMMAND_TIMEOUT"
  | "IDEMPOTENCY_TTL"
  | "PHONE_SEND_LIMITS"
  | "PHONE_VERIFY_LIMITS"
  | "IP_SEND_LIMITS"
  | "IP_VERIFY_LIMITS"
  | "TRUST_PROXY"
  | "ALLOWED_COUNTRIES"
  | "GATEWAY_API_KEYS"
  | "CORS_ORIGINS"
  | "REDIS_CLUSTER_NODES"
  | "SHUTDOWN_GRACE";

export type Config = Omit<Env, Derived> & {
  REDIS_COMMAND_TIMEOUT_MS: number;
  IDEMPOTENCY_TTL_MS: number;
  SHUTDOWN_GRACE_MS: number;
  PHONE_SEND_LIMITS: Window[];
  PHONE_VERIFY_LIMITS: Window[];
  IP_SEND_LIMITS: Window[];
  IP_VERIFY_LIMITS: Window[];
  TRUST_PROXY: TrustProxy;
  /** Upper-case ISO codes; undefined means any country. */
  ALLOWED_COUNTRIES: Set<string> | undefined;
  GATEWAY_API_KEYS: string[];
  CORS_ORIGINS: string[];
  REDIS_CLUSTER_NODES: string[];
  OTP_PROVIDER: "startmessaging" | "console";
  UPSTREAM_TIMEOUT_MS: number;
  UPSTREAM_RETRY_BACKOFF_MS: number;
  OTP_TTL_MS: number;
  VERIFY_EXPOSE_REASON: boolean;
  /** Bun's idle timeout in seconds, above the worst upstream wait. */
  IDLE_TIMEOUT_S: number;
};

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
}

const DERIVED = new Set<string>([
  "UPSTREAM_TIMEOUT", "UPSTREAM_RETRY_BACKOFF", "OTP_TTL", "VERIFY_EXPOSE_REASON", "OTP_PROVIDER", "REDIS_COMMAND_TIMEOUT", "IDEMPOTENCY_TTL",
  "PHONE_SEND_LIMITS", "PHONE_VERIFY_LIMITS", "IP_SEND_LIMITS", "IP_VERIFY_LIMITS", "TRUST_PROXY", "ALLOWED_COUNTRIES",
  "GATEWAY_API_KEYS", "CORS_ORIGINS", "REDIS_CLUSTER_NODES", "SHUTDOWN_GRACE",
] satisfies Derived[]);

/** Bun caps `idleTimeout` at 255 s. */
const MAX_IDLE_TIMEOUT_S = 255;

/** Parses the environment once; throws `ConfigError` naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const env = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw)) as Record<string, unknown>;
  const problems = [...Value.Errors(EnvSchema, env)].map((e) => {
    const name = e.path.replace(/^\//, "");
    const field = EnvSchema.properties[name as keyof Env];
    return `${name}=${JSON.stringify(source[name] ?? "")}: expected ${expectation(field)}`;
  });
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return finish(env as Env);
}

function expectation(schema: unknown): string {
  const s = schema as { pattern?: string; minimum?: number; maximum?: number; anyOf?: { const: string }[]; type?: string };
  if (s?.anyOf) return `one of ${s.anyOf.map((o) => o.const).join(", ")}`;
  if (s?.pattern === DURATION_PATTERN) return "a duration such as 500ms, 30s, 10m or 24h";
  if (s?.type === "integer") return `a whole number from ${s.minimum} to ${s.maximum}`;
  if (s?.pattern) return `a value matching ${s.pattern}`;
  return "a non-empty value";
}

function finish(env: Env): Config {
  const problems: string[] = [];
  const ms = (name: "UPSTREAM_TIMEOUT" | "UPSTREAM_RETRY_BACKOFF" | "OTP_TTL" | "REDIS_COMMAND_TIMEOUT" | "IDEMPOTENCY_TTL" | "SHUTDOWN_GRACE") => {
    const value = parseDuration(env[name]);
    if (value === undefined || value <= 0) problems.push(`${name}=${JSON.stringify(env[name])}: expected a positive duration`);
    return value ?? 0;
  };
  const timeout = ms("UPSTREAM_TIMEOUT");
  const backoff = ms("UPSTREAM_RETRY_BACKOFF");
  const ttl = ms("OTP_TTL");
  const redisTimeout = ms("REDIS_COMMAND_TIMEOUT");
  const idempotencyTtl = ms("IDEMPOTENCY_TTL");
  const shutdownGrace = ms("SHUTDOWN_GRACE");
  const limits = (name: "PHONE_SEND_LIMITS" | "PHONE_VERIFY_LIMITS" | "IP_SEND_LIMITS" | "IP_VERIFY_LIMITS") => {
    const windows = parseLimits(env[name]);
    if (!windows) problems.push(`${name}=${JSON.stringify(env[name])}: expected count/duration pairs such as 1/1m,3/10m (count 1 to 10000)`);
    return windows ?? [];
  };
  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
  if (!trustProxy) problems.push(`TRUST_PROXY=${JSON.stringify(env.TRUST_PROXY)}: expected false, a number of hops, or a comma list of CIDRs`);
  if ((env.METRICS_ACCESS === "token" || env.DOCS_ACCESS === "token") && env.ADMIN_TOKEN.length < 16) {
    problems.push("ADMIN_TOKEN: expected 16 characters or more when METRICS_ACCESS or DOCS_ACCESS is token");
  }
  if (env.WORKERS > 1 && !env.REDIS_URL && !env.REDIS_CLUSTER_NODES) {
    problems.push(`WORKERS=${env.WORKERS}: expected REDIS_URL or REDIS_CLUSTER_NODES too (workers must share limits, idempotency and verify state)`);
  }
  const list = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);

  const provider: Config["OTP_PROVIDER"] = env.OTP_PROVIDER === "auto" ? (env.STARTMESSAGING_API_KEY ? "startmessaging" : "console") : env.OTP_PROVIDER;
  if (provider === "startmessaging" && !env.STARTMESSAGING_API_KEY) {
    problems.push("STARTMESSAGING_API_KEY is empty: expected the API key when OTP_PROVIDER=startmessaging");
  }
  if (env.OTP_PROVIDER === "auto" && provider === "console" && env.NODE_ENV === "production") {
    problems.push(
      "OTP_PROVIDER: NODE_ENV=production and no STARTMESSAGING_API_KEY; set the key, or OTP_PROVIDER=console to run the console provider on purpose",
    );
  }

  // Bun's idleTimeout also counts a handler that is still waiting on the upstream,
  // so it must outlast every attempt plus the backoff between them, or slow sends get cut.
  const attempts = env.UPSTREAM_RETRIES + 1;
  const worstWaitMs = timeout * attempts + backoff * (2 ** attempts - 1);
  const idle = Math.ceil(worstWaitMs / 1000) + 5;
  if (idle > MAX_IDLE_TIMEOUT_S) {
    problems.push(
      `UPSTREAM_TIMEOUT=${env.UPSTREAM_TIMEOUT} with UPSTREAM_RETRIES=${env.UPSTREAM_RETRIES}: worst upstream wait ${Math.ceil(worstWaitMs / 1000)}s exceeds the server's ${MAX_IDLE_TIMEOUT_S - 5}s limit`,
    );
  }
  const phoneSend = limits("PHONE_SEND_LIMITS");
  const phoneVerify = limits("PHONE_VERIFY_LIMITS");
  const ipSend = limits("IP_SEND_LIMITS");
  const ipVerify = limits("IP_VERIFY_LIMITS");
  if (problems.length > 0) throw new ConfigError(problems);

  const rest = Object.fromEntries(Object.entries(env).filter(([key]) => !DERIVED.has(key))) as Omit<Env, Derived>;
  return {
    ...rest,
    REDIS_COMMAND_TIMEOUT_MS: redisTimeout,
    IDEMPOTENCY_TTL_MS: idempotencyTtl,
    SHUTDOWN_GRACE_MS: shutdownGrace,
    PHONE_SEND_LIMITS: phoneSend,
    PHONE_VERIFY_LIMITS: phoneVerify,
    IP_SEND_LIMITS: ipSend,
    IP_VERIFY_LIMITS: ipVerify,
    TRUST_PROXY: trustProxy!,
    ALLOWED_COUNTRIES: env.ALLOWED_COUNTRIES === "*" ? undefined : new Set(list(env.ALLOWED_COUNTRIES.toUpperCase())),
    GATEWAY_API_KEYS: list(env.GATEWAY_API_KEYS),
    CORS_ORIGINS: list(env.CORS_ORIGINS),
    REDIS_CLUSTER_NODES: list(env.REDIS_CLUSTER_NODES),
    OTP_PROVIDER: provider,
    UPSTREAM_TIMEOUT_MS: timeout,
    UPSTREAM_RETRY_BACKOFF_MS: backoff,
    OTP_TTL_MS: ttl,
    VERIFY_EXPOSE_REASON: env.VERIFY_EXPOSE_REASON === "true",
    IDLE_TIMEOUT_S: idle,
  };
}
