/**
 * A small structured logger: one JSON object per line on stdout (or a readable
 * line for a terminal). Written here rather than taken from pino because the
 * gateway needs only levels, bound fields and two formats, and this keeps the
 * compiled binary free of worker-thread transports.
 *
 * Callers pass already-safe fields: phone numbers masked with `maskPhone`,
 * never a code or a key. `redactFields` is a second net for the obvious names.
 */
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

function redactFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_FIELD.test(key) ? "[redacted]" : value instanceof Error ? describeError(value) : value;
  }
  return out;
}

function describeError(err: Error): LogFields {
  const cause = err.cause instanceof Error ? describeError(err.cause) : undefined;
  return { name: err.name, message: err.message, ...(cause ? { cause } : {}) };
}

/**
 * Lines to stdout through one buffered sink, flushed once per turn of the event
 * loop: a synchronous write per line cost a fifth of the CPU under load. One
 * per process, like stdout itself, so that `closeStdoutLog` can drain it.
 */
let stdoutSink: ReturnType<typeof Bun.stdout.writer> | undefined;

function stdoutWriter(): (line: string) => void {
  const sink = (stdoutSink ??= Bun.stdout.writer());
  let pending = false;
  const flush = () => {
    pending = false;
    void sink.flush();
  };
  return (line) => {
    sink.write(line + "\n");
    if (!pending) {
      pending = true;
      setImmediate(flush);
    }
  };
}

/**
 * Waits until every buffered log line has reached stdout (a slow log collector
 * may hold it back); call before `process.exit`, which would drop the rest.
 */
export async function closeStdoutLog(): Promise<void> {
  if (stdoutSink) await stdoutSink.end();
  stdoutSink = undefined;
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = RANK[options.level ?? "info"];
  const format = options.format ?? "json";
  const write = options.write ?? stdoutWriter();
  return createLoggerWith(min, format, write, bound);
}

function createLoggerWith(min: number, format: LogFormat, write: (line: string) => void, bound: LogFields): Logger {

  const emit = (level: Exclude<LogLevel, "silent">, msg: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    const data = redactFields({ ...bound, ...fields });
    if (format === "pretty") {
      const rest = Object.entries(data).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg} ${rest.join(" ")}`.trimEnd());
    } else {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...data }));
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
