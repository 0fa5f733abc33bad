/**
 * A small structured logger: one JSON object per line on stdout (or a readable
 * line for a terminal). Written here rather than taken from pino because the
 * gateway needs only levels, bound fields and two formats, and this keeps the
 * compiled binary free of worker-thread transports.
 *
 * Callers pass already-safe fields: phone numbers masked with `maskPhone`,
 * never a code or a key. `redactFields` is a second net for the obvious names.
 */
import { BoundedSink } from "./log-sink";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = "json" | "pretty";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lowest level written. Default `info`. */
  level?: LogLevel;
  /** `json` (default) or `pretty` for a terminal. */
  format?: LogFormat;
  /** Where lines go. Default: stdout. Tests pass a collector. */
  write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const SECRET_FIELD = /^(api[-_]?key|authorization|x-api-key|otp|otpCode|password|secret|token)$/i;

/** Whether a field name is one of the obvious secret names; a handful of names, so remembered. */
const secretNames = new Map<string, boolean>();
function isSecretName(key: string): boolean {
  let secret = secretNames.get(key);
  if (secret === undefined) {
    secret = SECRET_FIELD.test(key);
    if (secretNames.size < 1_000) secretNames.set(key, secret);
  }
  return secret;
}

/** Copies `fields` into `out`, secrets redacted and errors described. */
function addFields(out: LogFields, fields: LogFields): void {
  for (const key in fields) {
    const value = fields[key];
    out[key] = isSecretName(key) ? "[redacted]" : value instanceof Error ? describeError(value) : value;
  }
}

/** An ISO timestamp, remembered for the millisecond it names (many lines share one). */
let lastMs = -1;
let lastIso = "";
function timestamp(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

function describeError(err: Error): LogFields {
  const cause = err.cause instanceof Error ? describeError(err.cause) : undefined;
  return { name: err.name, message: err.message, ...(cause ? { cause } : {}) };
}

/**
 * Lines to stdout through one buffered, bounded sink (log-sink.ts), flushed once
 * per turn of the event loop: a synchronous write per line cost a fifth of the
 * CPU under load. One per process, like stdout itself, so that `closeStdoutLog`
 * can drain it.
 */
let stdoutSink: BoundedSink | undefined;

function stdoutWriter(): (line: string) => void {
  stdoutSink ??= new BoundedSink(Bun.stdout.writer(), (text) => process.stderr.write(text));
  const sink = stdoutSink;
  return (line) => sink.write(line);
}

/** Log lines dropped because stdout was not being read (otp_gateway_log_lines_dropped_total). */
export const droppedLogLines = () => stdoutSink?.dropped ?? 0;

/**
 * Waits until every buffered log line has reached stdout (a slow log collector
 * may hold it back), for at most `maxWaitMs`: a reader that never comes back
 * must not keep a stopping gateway alive. Call before `process.exit`.
 */
export async function closeStdoutLog(maxWaitMs = 5_000): Promise<void> {
  if (!stdoutSink) return;
  const closed = stdoutSink.close();
  stdoutSink = undefined;
  await Promise.race([closed, Bun.sleep(maxWaitMs)]);
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = RANK[options.level ?? "info"];
  const format = options.format ?? "json";
  const write = options.write ?? stdoutWriter();
  return createLoggerWith(min, format, write, bound);
}

function createLoggerWith(
  min: number,
  format: LogFormat,
  write: (line: string) => void,
  bound: LogFields,
): Logger {
  const emit = (level: Exclude<LogLevel, "silent">, msg: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    if (format === "pretty") {
      const data: LogFields = {};
      addFields(data, bound);
      if (fields) addFields(data, fields);
      const rest = Object.entries(data).map(
        ([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`,
      );
      write(`${timestamp()} ${level.toUpperCase().padEnd(5)} ${msg} ${rest.join(" ")}`.trimEnd());
    } else {
      const line: LogFields = { time: timestamp(), level, msg };
      addFields(line, bound);
      if (fields) addFields(line, fields);
      write(JSON.stringify(line));
    }
  };

  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLoggerWith(min, format, write, { ...bound, ...fields }),
  };
}
