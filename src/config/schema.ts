import { Type as T } from "@sinclair/typebox";
import { formatTrustProxy, parseTrustProxy, type TrustProxy } from "../domain/client-ip";
import { splitList } from "../lib/split-list";
import { LOG_LEVELS } from "../observability/logger";
import {
  Budgets,
  ClusterNodes,
  Duration,
  DurationOrOff,
  decoded,
  Flag,
  Int,
  Limits,
  List,
  OneOf,
  OptionalLimits,
  PemFile,
  Prices,
  RedisUrl,
  TestNumberList,
} from "./decoders";

/**
 * `bun build --compile` replaces `process.env.NODE_ENV` with "production" at build
 * time, so a compiled binary defaults to production; from source it is development.
 */
const DEFAULT_NODE_ENV = process.env.NODE_ENV === "production" ? "production" : "development";
const ACCESS = ["public", "token", "off"] as const;

/**
 * Every environment variable the gateway reads: its type, default, decoding and
 * description, declared once. Parsing, the `Config` type, `--help` and the
 * docs/configuration.md table all come from this schema. Durations decode to milliseconds.
 */
export const EnvSchema = T.Object({
  PORT: Int(3000, 0, 65535, "TCP port to listen on."),
  HOST: T.String({ minLength: 1, default: "0.0.0.0", description: "Address to bind." }),
  NODE_ENV: T.String({
    pattern: "^(development|production|test)$",
    expected: "development or production (test for the test suite)",
    default: DEFAULT_NODE_ENV,
    description:
      "`production` refuses the console provider unless OTP_PROVIDER=console is set. Compiled binaries default to production.",
  }),
  OTP_PROVIDER: OneOf(
    ["auto", "startmessaging", "console"],
    "auto",
    "`startmessaging`, `console`, or `auto`: startmessaging when STARTMESSAGING_API_KEY is set, else console.",
  ),
  STARTMESSAGING_API_KEY: T.String({
    default: "",
    description: "StartMessaging API key (sent as X-API-Key). Never logged.",
  }),
  STARTMESSAGING_BASE_URL: T.String({
    pattern: "^https?://[^\\s]+$",
    expected: "an http:// or https:// URL, e.g. https://api.startmessaging.com",
    default: "https://api.startmessaging.com",
    description: "StartMessaging API base URL.",
  }),
  STARTMESSAGING_TEMPLATE_ID: T.String({
    default: "",
    description: "Optional templateId sent with every OTP.",
  }),
  UPSTREAM_TIMEOUT: Duration("10s", "Timeout of one upstream HTTP attempt, body included."),
  UPSTREAM_RETRIES: Int(
    2,
    0,
    5,
    "Extra attempts of a send after an upstream 5xx or connection error (same idempotency key).",
  ),
  UPSTREAM_RETRY_BACKOFF: Duration(
    "200ms",
    "Base of the exponential backoff between send attempts (full jitter).",
  ),
  OTP_LENGTH: Int(6, 4, 8, "Digits in a generated code."),
  OTP_TTL: Duration("5m", "How long a code stays valid (used when the upstream does not say)."),
  OTP_MAX_ATTEMPTS: Int(3, 1, 10, "Verify attempts per code (used when the upstream does not say)."),
  DELIVERY_STATUS: OneOf(
    ["poll", "off"],
    "poll",
    "`poll`: ask the upstream what became of each SMS (StartMessaging's GET /messages/{id}) with backoff until " +
      "a final status or the code's expiry, for GET /v1/otp/{verificationId} and the delivery metric. `off`: never.",
  ),
  DELIVERY_POLL_PACE: Limits(
    "5/1s",
    "Delivery-status requests to the upstream, shared by every gateway on one store: StartMessaging allows about " +
      "20 requests a second per account, sends included, so polling must leave room for the sends.",
  ),
  VERIFICATION_KEEP: Duration(
    "15m",
    "How long GET /v1/otp/{verificationId} still answers after a code's expiry, so that an app reads its final " +
      "state. Each verification's record lives its code's lifetime plus this.",
  ),
  VERIFY_EXPOSE_REASON: Flag(
    false,
    "Add `reason` (wrong_code, expired, unknown, exhausted) to verify answers. Off by default: one generic answer leaks less.",
  ),
  REDIS_URL: RedisUrl(
    "Redis for shared limits and state (`redis://` or `rediss://`). Unset: an in-memory store (one process only).",
  ),
  REDIS_CLUSTER_NODES: ClusterNodes(
    "Redis Cluster seeds, instead of REDIS_URL: `host:port,…`, or `rediss://user:password@host:6379,…` (one login for all).",
  ),
  REDIS_TLS_CA_FILE: PemFile(
    "PEM file of the CA that signed the Redis servers' certificates (`rediss://`), when it is not one the system trusts.",
  ),
  REDIS_COMMAND_TIMEOUT: Duration(
    "500ms",
    "A Redis command with no answer after this fails; sends and verifies then fail closed (503).",
  ),
  PHONE_SEND_LIMITS: Limits(
    "1/1m,3/10m,5/1h,10/24h",
    "Sends per phone number, every window enforced exactly.",
  ),
  PHONE_VERIFY_LIMITS: Limits("10/10m,30/24h", "Verify attempts per phone number."),
  IP_SEND_LIMITS: OptionalLimits(
    "5/1m,20/10m,50/1h",
    "Sends per client address (IPv6 by /64); invalid requests count too. `off` only behind a proxy that limits " +
      "by address itself (a warning at start).",
  ),
  IP_VERIFY_LIMITS: OptionalLimits(
    "10/1m,60/1h",
    "Verifies per client address (IPv6 by /64). `off` as IP_SEND_LIMITS (a warning at start).",
  ),
  IPV4_SUBNET_SEND_LIMITS: OptionalLimits(
    "60/1m,600/1h",
    "Sends per IPv4 /24, on top of the per-address limits. High: many mobile users share addresses behind carrier-grade NAT.",
  ),
  IPV6_SUBNET_SEND_LIMITS: OptionalLimits(
    "30/1m,300/1h",
    "Sends per IPv6 /48 (one site; a tunnel broker hands out a /48 for free, 65 536 /64s), on top of the per-/64 limits.",
  ),
  IP_GET_LIMITS: OptionalLimits(
    "600/1m",
    "Requests per client address (IPv6 by /64) to every route but send, verify and the probes: GET pages, " +
      "/metrics, the docs, the admin routes. A flood from one address is refused for the cost of a 429; " +
      "/healthz and /readyz are never limited (a refused probe would take the gateway out of its load balancer).",
  ),
  SUBNET_GET_LIMITS: OptionalLimits(
    "6000/1m",
    "Requests per IPv4 /24 and per IPv6 /48 to the same routes, on top of IP_GET_LIMITS: one IPv6 site has " +
      "65 536 /64s, each with a limit of its own.",
  ),
  IP_LRU_MAX: Int(
    100_000,
    1_000,
    10_000_000,
    "Client addresses and subnets remembered for per-IP limits, by sends and by verifies each (memory stays flat at this cap).",
  ),
  TRUST_PROXY: decoded(
    T.String({
      default: "false",
      description:
        "`false`: X-Forwarded-For is ignored. A number: that many proxies in front. Or a comma list of proxy CIDRs (IPv4-mapped ones, `::ffff:10.0.0.0/104`, are read as IPv4).",
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
      expected: "two-letter country codes, comma-separated, e.g. IN,BD, or * for any",
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
    "Comma list of caller keys. When set, every /v1 route needs `Authorization: Bearer <key>`, and a caller sees " +
      "and cancels only the verifications it sent. Never logged.",
  ),
  CORS_ORIGINS: List(
    "Comma list of browser origins allowed to call the API, or `*`. Unset: no CORS headers.",
  ),
  SEND_BUDGETS: Budgets(
    "*=1000/1h,*=10000/24h",
    "Ceilings on SMS sent, shared by every gateway on the store: `*` for all sends or a country code, then " +
      "count/duration, comma-separated (`*=20000/24h,IN=5000/1h`), or `off`. The default bounds a fresh " +
      "install at about ₹2 500 a day (10 000 SMS at ₹0.25); size it to a few times your peak.",
  ),
  PUMPING_GUARD: OneOf(
    ["off", "monitor", "enforce"],
    "enforce",
    "The pumping guard: blocks a number prefix whose sends are not verified. `monitor` decides, logs and counts " +
      "but refuses nothing; `off`. Default enforce: a fresh install must not pay for pumping, and real users verify " +
      "most codes. It needs the app to verify through the gateway.",
  ),
  PUMPING_UNPROVEN_BLOCK: Int(
    10,
    0,
    1_000_000,
    "Sends to one block whose codes are not verified yet (unproven) that it may hold in PUMPING_UNPROVEN_WINDOW; " +
      "past that, sends to new numbers of the block are refused until codes are verified or the window moves on. " +
      "A verified code gives its own send's place back. Bounds an attack on a fresh block to about this many SMS " +
      "in its first minute; real users, who verify within a minute, hold a few places at once. 0: no bound.",
  ),
  PUMPING_UNPROVEN_RANGE: Int(
    30,
    0,
    1_000_000,
    "The same bound for a whole range (PUMPING_RANGE_DROP): an attack spread over a range's blocks gets about this " +
      "many SMS. Raise it when a range has more new users an hour than this who never enter their code. 0: no bound.",
  ),
  PUMPING_UNPROVEN_WINDOW: Duration(
    "1h",
    "How long an unverified send holds its place in PUMPING_UNPROVEN_BLOCK and _RANGE: the time an attacked block " +
      "waits before its next few SMS.",
  ),
  RETURNING_USERS: DurationOrOff(
    "30d",
    "A number that verified a code within this long is a returning user: no rule of the pumping guard refuses it " +
      "and it may use the budgets' reserve, so an attack on a block cannot lock out its known users. Kept as one bit " +
      "per number per block in the store (Redis: 125 bytes per 1 000-number block). `off`: no number is.",
  ),
  BUDGET_RESERVE: Int(
    20,
    0,
    90,
    "Share (%) of every SEND_BUDGETS window only returning users' sends may use: an attack of new numbers can spend " +
      "the rest, never the whole budget. Default 20: a day's returning users are most sign-ins; an attack spends the " +
      "open 80 % and raises the alert before the reserve is touched. Enforced with PUMPING_GUARD=enforce, counted " +
      "and logged in monitor mode, none with it off (no number is proven where the gateway does not see the verifies). 0: none.",
  ),
  PUMPING_PREFIX_DROP: Int(
    3,
    1,
    6,
    "Digits dropped from the end of a number to make its prefix (3: blocks of 1 000 numbers).",
  ),
  PUMPING_RANGE_DROP: Int(
    5,
    0,
    8,
    "Digits dropped to make the wider range each block is also judged in (5: 100 blocks), more than PUMPING_PREFIX_DROP; " +
      "a range is blocked only below half PUMPING_MIN_CONVERSION, so that an attack spread over many blocks of one operator " +
      "is caught as one. 0: no ranges. Changing it starts the phones' windows and the guard's counts afresh.",
  ),
  PUMPING_WINDOW: Duration(
    "24h",
    "How far back a prefix's sends are judged (only sends whose code has expired count): long enough to see a slow attack.",
  ),
  PUMPING_MIN_SENDS: Int(20, 3, 1_000_000, "Judged sends a prefix needs before it can be blocked."),
  PUMPING_MIN_CONVERSION: Int(
    20,
    1,
    99,
    "A prefix is blocked when fewer than this % of its judged sends were verified.",
  ),
  PUMPING_BLOCK: Duration("12h", "How long a prefix is blocked the first time; each repeat doubles it."),
  PUMPING_BLOCK_MAX: Duration("7d", "The longest block."),
  PUMPING_SAFE_LIST: List(
    "Comma list of number prefixes or numbers (E.164, `+9198765`) the pumping guard never blocks.",
    {
      pattern: "^$|^\\+[0-9]{1,15}(,\\+[0-9]{1,15})*$",
      expected: "prefixes or numbers with their +, comma-separated, e.g. +9198765,+919876543210",
    },
  ),
  SMS_PRICES: Prices(
    "*=0.25",
    "Estimated price of one SMS in INR by country (`IN=0.25,*=0.25`), for the estimated-spend metric. " +
      "Default: StartMessaging's shared-route price, ₹0.25.",
  ),
  TEST_PHONES: TestNumberList(
    "Test numbers for app-store review, QA and CI: `+919999999999:123456`, comma-separated, each optionally with a last " +
      "day (`:2027-01-31`). They never reach the upstream or use a budget or send window, and verify only with their code; wrong codes count against the verify window.",
  ),
  IDEMPOTENCY_TTL: Duration(
    "24h",
    "How long an Idempotency-Key replays its first answer; at least the longest PHONE_SEND_LIMITS window.",
  ),
  IDEMPOTENCY_RETRIES: Int(
    3,
    0,
    20,
    "Sends with one Idempotency-Key after its first whose upstream call failed (5xx, timeout): past these the key " +
      "answers 409 IDEMPOTENCY_RETRIES_EXHAUSTED. A retry is charged to the budgets again once its first charge has " +
      "left their shortest window. Bounds what one key can make an upstream that does not dedup send.",
  ),
  METRICS_ACCESS: OneOf(
    ["auto", ...ACCESS],
    "auto",
    "GET /metrics: `public`, `token` (needs ADMIN_TOKEN) or `off`. `auto`: public in development; in production " +
      "token when ADMIN_TOKEN is set, else off (the page tells a stranger what is left of the send budgets and " +
      "when the pumping guard refuses).",
  ),
  DOCS_ACCESS: OneOf(
    ACCESS,
    "public",
    "/swagger and /swagger/json: `public`, `token` (needs ADMIN_TOKEN; browsers get a password prompt) or `off`.",
  ),
  ADMIN_TOKEN: T.String({
    default: "",
    description:
      "Operator token, 16 characters or more: opens the admin routes (/admin, off without it) and " +
      "METRICS_ACCESS or DOCS_ACCESS = token. Never logged.",
  }),
  WORKERS: Int(
    1,
    1,
    64,
    "Processes serving one port (SO_REUSEPORT). Per-IP limits are per process: see docs/redis.md.",
  ),
  SHUTDOWN_GRACE: Duration(
    "10s",
    "On SIGTERM or SIGINT: how long requests in flight may take to finish before they are cut.",
  ),
  MAX_BODY_SIZE: Int(16384, 256, 1048576, "Largest request body in bytes; larger bodies get 413."),
  LOG_LEVEL: OneOf(LOG_LEVELS, "info", "debug, info, warn, error or silent."),
  LOG_FORMAT: OneOf(["json", "pretty"], "json", "`json` lines or `pretty` for a terminal."),
});
