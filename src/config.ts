import { Type as T, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { DURATION_PATTERN, parseDuration } from "./lib/duration";
import { LOG_LEVELS } from "./lib/logger";

const Duration = (fallback: string, description: string) =>
  T.String({ pattern: DURATION_PATTERN, default: fallback, description, examples: ["500ms", "30s", "10m", "24h"] });
const Int = (fallback: number, minimum: number, maximum: number, description: string) =>
  T.Integer({ minimum, maximum, default: fallback, description });

/**
 * Every environment variable the gateway reads, with its default. This schema is
 * the single source for parsing, for `--help` and for the README table.
 */
export const EnvSchema = T.Object({
  PORT: Int(3000, 0, 65535, "TCP port to listen on."),
  HOST: T.String({ minLength: 1, default: "0.0.0.0", description: "Address to bind." }),
  NODE_ENV: T.String({ default: "development", description: "`production` refuses the console provider unless OTP_PROVIDER=console is set." }),
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
  MAX_BODY_SIZE: Int(16384, 256, 1048576, "Largest request body in bytes; larger bodies get 413."),
  LOG_LEVEL: T.Union(LOG_LEVELS.map((l) => T.Literal(l)), { default: "info", description: "debug, info, warn, error or silent." }),
  LOG_FORMAT: T.Union([T.Literal("json"), T.Literal("pretty")], { default: "json", description: "`json` lines or `pretty` for a terminal." }),
});

type Env = Static<typeof EnvSchema>;

/** The parsed configuration: durations in milliseconds, flags as booleans. */
export type Config = Omit<Env, "UPSTREAM_TIMEOUT" | "UPSTREAM_RETRY_BACKOFF" | "OTP_TTL" | "VERIFY_EXPOSE_REASON" | "OTP_PROVIDER"> & {
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
  const ms = (name: "UPSTREAM_TIMEOUT" | "UPSTREAM_RETRY_BACKOFF" | "OTP_TTL") => {
    const value = parseDuration(env[name]);
    if (value === undefined || value <= 0) problems.push(`${name}=${JSON.stringify(env[name])}: expected a positive duration`);
    return value ?? 0;
  };
  const timeout = ms("UPSTREAM_TIMEOUT");
  const backoff = ms("UPSTREAM_RETRY_BACKOFF");
  const ttl = ms("OTP_TTL");

  let provider: Config["OTP_PROVIDER"] = env.OTP_PROVIDER === "auto" ? (env.STARTMESSAGING_API_KEY ? "startmessaging" : "console") : env.OTP_PROVIDER;
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
  if (problems.length > 0) throw new ConfigError(problems);

  const { UPSTREAM_TIMEOUT: _t, UPSTREAM_RETRY_BACKOFF: _b, OTP_TTL: _o, VERIFY_EXPOSE_REASON, OTP_PROVIDER: _p, ...rest } = env;
  return {
    ...rest,
    OTP_PROVIDER: provider,
    UPSTREAM_TIMEOUT_MS: timeout,
    UPSTREAM_RETRY_BACKOFF_MS: backoff,
    OTP_TTL_MS: ttl,
    VERIFY_EXPOSE_REASON: VERIFY_EXPOSE_REASON === "true",
    IDLE_TIMEOUT_S: idle,
  };
}
