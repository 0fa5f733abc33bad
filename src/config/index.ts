import type { StaticDecode } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { DURATION_PATTERN, formatDuration } from "../lib/duration";
import { EnvSchema } from "./schema";

export { EnvSchema } from "./schema";

type Settings = StaticDecode<typeof EnvSchema>;

/**
 * The parsed configuration: each variable as the schema decodes it (durations
 * in milliseconds, lists as arrays, flags as booleans), plus what only several
 * variables together decide (see `crossChecked`).
 */
export type Config = Omit<Settings, "OTP_PROVIDER" | "METRICS_ACCESS"> & {
  /** `auto` resolved: startmessaging when a key is set, else console. */
  OTP_PROVIDER: "startmessaging" | "console";
  /** `auto` resolved: public in development; in production token with ADMIN_TOKEN, else off. */
  METRICS_ACCESS: "public" | "token" | "off";
  /** Bun's idle timeout in seconds, above the worst upstream wait. */
  IDLE_TIMEOUT_S: number;
  /** What the settings allow but an operator should hear of at start (logged once, as warnings). */
  warnings: string[];
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
  // First the shape of each value (type, pattern, range); only well-formed values are decoded.
  const malformed = Object.entries(EnvSchema.properties)
    .filter(([name, schema]) => !Value.Check(schema, env[name]))
    .map(([name, schema]) => `${name}=${shown(name, source[name] ?? "")}: expected ${expectation(schema)}`);
  if (malformed.length > 0) throw new ConfigError(malformed);
  const problems: string[] = [];
  const settings: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(EnvSchema.properties)) {
    try {
      settings[name] = Value.Decode(schema, env[name]);
    } catch (err) {
      problems.push(
        `${name}=${shown(name, env[name])}: expected ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  const config = crossChecked(settings as Partial<Settings>, env, problems);
  // No config exactly when some variable has a problem.
  if (!config) throw new ConfigError(problems);
  return config;
}

/** Settings whose whole value is a secret: a configuration error never shows them. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|TEST_PHONES/;

/**
 * A value as a configuration error may show it: a secret setting only by its
 * length, and in any other, of each comma-separated part, whatever comes before
 * its last `@` (the credentials of `redis://user:password@host`, however badly
 * written) masked, its scheme kept.
 */
export function shown(name: string, value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? "");
  if (SECRET_NAME.test(name)) return `(hidden, ${text.length} characters)`;
  const masked = text
    .split(",")
    .map((part) => {
      const at = part.lastIndexOf("@");
      if (at < 0) return part;
      const scheme = /^\s*[A-Za-z][A-Za-z0-9+.-]*:(\/\/)?/.exec(part)?.[0] ?? "";
      return `${scheme}***${part.slice(at)}`;
    })
    .join(",");
  return JSON.stringify(masked);
}

function expectation(schema: unknown): string {
  const s = schema as {
    pattern?: string;
    /** The value expected, in words with an example, for a pattern no one reads. */
    expected?: string;
    minimum?: number;
    maximum?: number;
    anyOf?: { const: string }[];
    type?: string;
  };
  if (s?.expected) return s.expected;
  if (s?.anyOf) return `one of ${s.anyOf.map((o) => o.const).join(", ")}`;
  if (s?.pattern === DURATION_PATTERN) return "a duration such as 500ms, 30s, 10m or 24h";
  if (s?.type === "integer") return `a whole number from ${s.minimum} to ${s.maximum}`;
  if (s?.pattern) return `a value matching ${s.pattern}`;
  return "a non-empty value";
}

/**
 * The rules that span several variables, in one place; each refusal names what
 * to change. Checks whose variables did not decode are left to those problems.
 */
function crossChecked(
  settings: Partial<Settings>,
  raw: Record<string, unknown>,
  problems: string[],
): Config | undefined {
  checkAdminToken(settings, problems);
  checkWorkers(settings, problems);
  checkRangeDrop(settings, raw, problems);
  checkIdempotencyTtl(settings, raw, problems);
  const provider = chosenProvider(settings, problems);
  const idle = idleTimeoutS(settings, raw, problems);
  if (problems.length > 0) return undefined;
  const warnings: string[] = [];
  const metricsAccess = resolveMetricsAccess(settings, warnings);
  for (const name of ["IP_SEND_LIMITS", "IP_VERIFY_LIMITS"] as const) {
    if (settings[name] === undefined) {
      warnings.push(
        `${name}=off: no per-address limit; keep one at the proxy in front, or anyone may send as often as the phone and subnet limits allow`,
      );
    }
  }
  return {
    ...(settings as Settings),
    OTP_PROVIDER: provider,
    METRICS_ACCESS: metricsAccess,
    IDLE_TIMEOUT_S: idle,
    warnings,
  };
}

function checkAdminToken(settings: Partial<Settings>, problems: string[]): void {
  const token = settings.ADMIN_TOKEN ?? "";
  if ((settings.METRICS_ACCESS === "token" || settings.DOCS_ACCESS === "token") && token.length < 16) {
    problems.push("ADMIN_TOKEN: expected 16 characters or more when METRICS_ACCESS or DOCS_ACCESS is token");
  } else if (token !== "" && token.length < 16) {
    // The token also opens the admin routes (src/modules/admin): never a short one.
    problems.push("ADMIN_TOKEN: expected 16 characters or more (it opens the admin routes)");
  }
}

function checkWorkers(settings: Partial<Settings>, problems: string[]): void {
  if ((settings.WORKERS ?? 1) > 1 && !settings.REDIS_URL && !settings.REDIS_CLUSTER_NODES?.nodes.length) {
    problems.push(
      `WORKERS=${settings.WORKERS}: expected REDIS_URL or REDIS_CLUSTER_NODES too ` +
        "(workers must share limits, idempotency and verify state)",
    );
  }
}

function checkRangeDrop(settings: Partial<Settings>, raw: Record<string, unknown>, problems: string[]): void {
  const drop = settings.PUMPING_PREFIX_DROP ?? 3;
  if (
    settings.PUMPING_RANGE_DROP !== undefined &&
    settings.PUMPING_RANGE_DROP !== 0 &&
    settings.PUMPING_RANGE_DROP <= drop
  ) {
    problems.push(
      `PUMPING_RANGE_DROP=${String(raw.PUMPING_RANGE_DROP)}: expected more than PUMPING_PREFIX_DROP (${drop}), or 0 for no ranges`,
    );
  }
}

/**
 * A reused key is exempt from the phone's windows while its record lives (its send is already
 * counted there); a record that expired before the window would let the key send again uncounted.
 */
function checkIdempotencyTtl(
  settings: Partial<Settings>,
  raw: Record<string, unknown>,
  problems: string[],
): void {
  const longestPhoneWindow = Math.max(0, ...(settings.PHONE_SEND_LIMITS ?? []).map((w) => w.windowMs));
  if (settings.IDEMPOTENCY_TTL !== undefined && settings.IDEMPOTENCY_TTL < longestPhoneWindow) {
    problems.push(
      `IDEMPOTENCY_TTL=${String(raw.IDEMPOTENCY_TTL)}: expected at least the longest PHONE_SEND_LIMITS window ` +
        `(${formatDuration(longestPhoneWindow)}), or a reused key could send past the phone's limits`,
    );
  }
}

/** OTP_PROVIDER resolved (`auto`: startmessaging with an API key, else console), refusing what cannot run. */
function chosenProvider(settings: Partial<Settings>, problems: string[]): Config["OTP_PROVIDER"] {
  const hasKey = (settings.STARTMESSAGING_API_KEY ?? "") !== "";
  // Plain (not decoded) settings are always there once their shape passed; "auto" is the schema's default.
  const chosen = settings.OTP_PROVIDER ?? "auto";
  const provider = chosen === "auto" ? (hasKey ? "startmessaging" : "console") : chosen;
  if (provider === "startmessaging" && !hasKey) {
    problems.push("STARTMESSAGING_API_KEY is empty: expected the API key when OTP_PROVIDER=startmessaging");
  }
  if (settings.OTP_PROVIDER === "auto" && provider === "console" && settings.NODE_ENV === "production") {
    problems.push(
      "OTP_PROVIDER: NODE_ENV=production and no STARTMESSAGING_API_KEY; " +
        "set the key, or OTP_PROVIDER=console to run the console provider on purpose",
    );
  }
  return provider;
}

/**
 * The server's idle timeout in seconds. Bun's idleTimeout also counts a handler that is still waiting
 * on the upstream, so it must outlast every attempt plus the backoff between them, or slow sends get cut.
 */
function idleTimeoutS(settings: Partial<Settings>, raw: Record<string, unknown>, problems: string[]): number {
  const attempts = (settings.UPSTREAM_RETRIES ?? 0) + 1;
  const worstWaitMs =
    (settings.UPSTREAM_TIMEOUT ?? 0) * attempts +
    (settings.UPSTREAM_RETRY_BACKOFF ?? 0) * (2 ** attempts - 1);
  const idle = Math.ceil(worstWaitMs / 1000) + 5;
  if (idle > MAX_IDLE_TIMEOUT_S) {
    problems.push(
      `UPSTREAM_TIMEOUT=${String(raw.UPSTREAM_TIMEOUT)} with UPSTREAM_RETRIES=${settings.UPSTREAM_RETRIES}: ` +
        `worst upstream wait ${Math.ceil(worstWaitMs / 1000)}s ` +
        `exceeds the server's ${MAX_IDLE_TIMEOUT_S - 5}s limit`,
    );
  }
  return idle;
}

/**
 * METRICS_ACCESS=auto: public in development, where a newcomer looks at the page; in production
 * behind ADMIN_TOKEN, or off without one. The page tells whoever reads it what is left of each
 * send budget, how much is being spent and when the pumping guard starts refusing: what an
 * attacker times a pumping run by.
 */
function resolveMetricsAccess(settings: Partial<Settings>, warnings: string[]): Config["METRICS_ACCESS"] {
  const chosen = settings.METRICS_ACCESS ?? "auto";
  if (chosen !== "auto") return chosen;
  if (settings.NODE_ENV !== "production") return "public";
  if ((settings.ADMIN_TOKEN ?? "") !== "") return "token";
  warnings.push(
    "GET /metrics is off: in production it needs ADMIN_TOKEN (scrape with Authorization: Bearer <token>), " +
      "or METRICS_ACCESS=public to serve it to anyone",
  );
  return "off";
}
