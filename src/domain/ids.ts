import { createHmac } from "node:crypto";

/**
 * What an upstream's verification id may look like: short, printable, safe in
 * a header, a log line or a Redis key.
 */
export const UPSTREAM_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The verification ids the gateway issues: `<tag>.<inner>`. The inner id is the
 * upstream's (or a test number's); the tag is 16 hex digits of
 * HMAC-SHA256(secret, phone), the secret shared by every gateway on one store.
 * The store keys a verification and its phone's verify window by the tag, so
 * one step (on one Cluster slot) finds the id and charges its phone. Keyed by a
 * secret, the tag does not give the phone away (a plain hash of a number is
 * brute-forced back from 10^10 candidates). Callers treat the id as opaque.
 */
export interface VerificationRef {
  tag: string;
  inner: string;
}

/** What a caller may pass as an id to verify (the contract's pattern: any of ours fits, 145 characters at most). */
export const VERIFICATION_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,144}$";
// The inner id: the upstream's (UPSTREAM_ID_RE), or a test number's (`_test_…`, which no upstream id can be).
const OURS_RE = /^([0-9a-f]{16})\.([A-Za-z0-9_][A-Za-z0-9._:-]{0,127})$/;

/** The tag of a phone's verification ids, under its store's secret. */
export const phoneTag = (secret: Uint8Array, phone: string): string =>
  createHmac("sha256", secret).update(phone).digest("hex").slice(0, 16);

export const verificationId = (ref: VerificationRef): string => `${ref.tag}.${ref.inner}`;

/** An id's parts, or undefined for an id this gateway never issued (it is then unknown without asking the store). */
export function parseVerificationId(id: string): VerificationRef | undefined {
  const m = OURS_RE.exec(id);
  const tag = m?.[1];
  const inner = m?.[2];
  return tag !== undefined && inner !== undefined ? { tag, inner } : undefined;
}

/** An incoming X-Request-Id is echoed only when it matches this; otherwise one is generated. */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | null): string {
  return header && REQUEST_ID_RE.test(header) ? header : crypto.randomUUID();
}

/** Idempotency-Key header: 1–255 printable characters without spaces (UUIDs fit). */
export const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;
