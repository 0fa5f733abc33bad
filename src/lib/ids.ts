/**
 * What a verification id (ours or the upstream's) may look like: short, printable,
 * safe in a header, a log line or a Redis key.
 */
export const VERIFICATION_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";
export const VERIFICATION_ID_RE = new RegExp(VERIFICATION_ID_PATTERN);

/** An incoming X-Request-Id is echoed only when it matches this; otherwise one is generated. */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | null): string {
  return header && REQUEST_ID_RE.test(header) ? header : crypto.randomUUID();
}

/** Idempotency-Key header: 1–255 printable characters without spaces (UUIDs fit). */
export const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;
