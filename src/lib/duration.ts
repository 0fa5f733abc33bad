/** A duration as written in configuration: `500ms`, `30s`, `10m`, `24h`, `1d`. */
export const DURATION_PATTERN = "^[0-9]+(ms|s|m|h|d)$";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Parses a duration into milliseconds; returns `undefined` for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_RE.exec(text.trim());
  if (!match) return undefined;
  const unit = match[1] as Unit;
  const amount = Number(text.trim().slice(0, -unit.length));
  const ms = amount * UNIT_MS[unit];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Formats milliseconds back to the shortest exact unit, for logs and `--help`. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
