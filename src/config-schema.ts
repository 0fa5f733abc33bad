import { type Static, Type as T, type TSchema } from "@sinclair/typebox";
import { formatTrustProxy, parseTrustProxy, type TrustProxy } from "./lib/client-ip";
import { DURATION_PATTERN, formatDuration, parseDuration } from "./lib/duration";
import { LOG_LEVELS } from "./lib/logger";
import { LIMITS_PATTERN, parseLimits, type Window } from "./lib/rate-window";

/** A setting that decodes its text into the value the gateway uses; a decoder throws what it expected. */
const decoded = <S extends TSchema, D>(schema: S, decode: (text: Static<S>) => D, encode: (value: D) => Static<S>) =>
  T.Transform(schema).Decode(decode).Encode(encode);

const Duration = (fallback: string, description: string) =>
  decoded(
    T.String({ pattern: DURATION_PATTERN, default: fallback, description, examples: ["500ms", "30s", "10m", "24h"] }),
    (text): number => {
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) throw new Error("a positive duration");
      return ms;
    },
    formatDuration,
  );
const Limits = (fallback: string, description: string) =>
  decoded(
    T.String({
      pattern: LIMITS_PATTERN,
      default: fallback,
      description: `${description} Format: count/duration, comma-separated.`,
    }),
    (text): Window[] => {
      const windows = parseLimits(text);
      if (!windows) throw new Error("count/duration pairs such as 1/1m,3/10m (count 1 to 10000)");
      return windows;
    },
    (windows) => windows.map((w) => w.label).join(","),
  );
const splitList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const List = (description: string, pattern?: string) =>
  decoded(T.String({ default: "", description, ...(pattern ? { pattern } : {}) }), splitList, (list) => list.join(","));
const Int = (fallback: number, minimum: number, maximum: number, description: string) =>
  T.Integer({ minimum, maximum, default: fallback, description });
const OneOf = <const V extends string>(values: readonly V[], fallback: V, description: string) =>
  T.Union(
    values.map((v) => T.Literal(v)),
    { default: fallback, description },
  );
const ACCESS = ["public", "token", "off"] as const;

/**
 * `bun build --compile` replaces `process.env.NODE_ENV` with "production" at build
 * time, so a compiled binary defaults to production; from source it is development.
 */
const DEFAULT_NODE_ENV = process.env.NODE_ENV === "production" ? "production" : "development";

/**
 * Every environment variable the gateway reads: its type, default, decoding and
 * description, declared once. Parsing, the `Config` type, `--help` and the
 * README table all come from this schema. Durations decode to milliseconds.
 */
export const EnvSchema = T.Object({
  PORT: Int(3000, 0, 65535, "TCP port to listen on."),
  HOST: T.String({ minLength: 1, default: "0.0.0.0", description: "Address to bind." }),
  NODE_ENV: T.String({
    default: DEFAULT_NODE_ENV,
    description:
      "`production` refuses the console provider unless OTP_PROVIDER=console is set. Compiled binaries default to production.",
  }),
  OTP_PROVIDER: OneOf(
    ["auto", "startmessaging", "console"],
    "auto",
    "`startmessaging`, `console`, or `auto`: startmessaging when STARTMESSAGING_API_KEY is set, else console.",
  ),
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
  VERIFY_EXPOSE_REASON: decoded(
    OneOf(
      ["true", "false"],
      "false",
      "Add `reason` (wrong_code, expired, unknown, exhausted) to verify answers. Off by default: one generic answer leaks less.",
    ),
    (text) => text === "true",
    (flag) => (flag ? "true" : "false"),
  ),
  REDIS_URL: T.String({
    pattern: "^$|^rediss?://",
    default: "",
    description: "Redis for shared limits and state (`redis://` or `rediss://`). Unset: an in-memory store (one process only).",
  }),
  REDIS_CLUSTER_NODES: List(
    "Redis Cluster seed nodes, `host:port,host:port`; used instead of REDIS_URL when set.",
    "^$|^[^,:\\s]+:[0-9]+(,[^,:\\s]+:[0-9]+)*$",
  ),
  REDIS_COMMAND_TIMEOUT: Duration(
    "500ms",
    "A Redis command with no answer after this fails; sends and verifies then fail closed (503).",
  ),
  PHONE_SEND_LIMITS: Limits("1/1m,3/10m,5/1h,10/24h", "Sends per phone number, every window enforced exactly."),
  PHONE_VERIFY_LIMITS: Limits("10/10m,30/24h", "Verify attempts per phone number."),
  IP_SEND_LIMITS: Limits("5/1m,20/10m,50/1h", "Sends per client address (IPv6 by /64)."),
  IP_VERIFY_LIMITS: Limits("10/1m,60/1h", "Verifies per client address (IPv6 by /64)."),
  IP_LRU_MAX: Int(100_000, 1_000, 10_000_000, "Client addresses remembered for per-IP limits (memory stays flat at this cap)."),
  TRUST_PROXY: decoded(
    T.String({
      default: "false",
      description: "`false`: X-Forwarded-For is ignored. A number: that many proxies in front. Or a comma list of proxy CIDRs.",
    }),
    (text): TrustProxy => {
      const trust = parseTrustProxy(text);
      if (!trust) throw new Error("false, a number of hops, or a comma list of CIDRs");
      return trust;
    },
    formatTrustProxy,
  ),
  ALLOWED_COUNTRIES: decoded(
    T.String({
      pattern: "^(\\*|[A-Za-z]{2}(,[A-Za-z]{2})*)$",
      default: "IN",
      description:
        "ISO 3166 codes a send may go to, or `*` for any. " +
        "Default IN: StartMessaging is India-first, and SMS pumping lives on international routes.",
    }),
    // Upper-case ISO codes; undefined means any country.
    (text): Set<string> | undefined => (text === "*" ? undefined : new Set(splitList(text.toUpperCase()))),
    (set) => (set ? [...set].join(",") : "*"),
  ),
  GATEWAY_API_KEYS: List(
    "Comma list of caller keys. When set, send and verify need `Authorization: Bearer <key>`. Never logged.",
  ),
  CORS_ORIGINS: List("Comma list of browser origins allowed to call the API, or `*`. Unset: no CORS headers."),
  IDEMPOTENCY_TTL: Duration("24h", "How long an Idempotency-Key replays its first answer."),
  METRICS_ACCESS: OneOf(ACCESS, "public", "GET /metrics: `public`, `token` (needs ADMIN_TOKEN) or `off`."),
  DOCS_ACCESS: OneOf(
    ACCESS,
    "public",
    "/swagger and /swagger/json: `public`, `token` (needs ADMIN_TOKEN; browsers get a password prompt) or `off`.",
  ),
  ADMIN_TOKEN: T.String({
    default: "",
    description: "Token for METRICS_ACCESS or DOCS_ACCESS = token (16 characters or more). Never logged.",
  }),
  WORKERS: Int(1, 1, 64, "Processes serving one port (SO_REUSEPORT). Per-IP limits are per process: see README."),
  SHUTDOWN_GRACE: Duration("10s", "On SIGTERM or SIGINT: how long requests in flight may take to finish before they are cut."),
  MAX_BODY_SIZE: Int(16384, 256, 1048576, "Largest request body in bytes; larger bodies get 413."),
  LOG_LEVEL: OneOf(LOG_LEVELS, "info", "debug, info, warn, error or silent."),
  LOG_FORMAT: OneOf(["json", "pretty"], "json", "`json` lines or `pretty` for a terminal."),
});
