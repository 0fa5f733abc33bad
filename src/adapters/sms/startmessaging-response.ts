import { maskDigitRuns } from "../../domain/mask";
import { readCapped } from "../../lib/read-capped";

/**
 * Defensive readers for StartMessaging's answers. Its public pages describe two
 * response shapes and two error shapes, and some answers are not JSON at all;
 * nothing here throws on an odd body.
 */
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseJsonObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `data`, where the payload lives in both published shapes. */
function dataOf(body: Json | undefined): Json | undefined {
  return body && isObject(body.data) ? body.data : undefined;
}

/** Verification id: `data.requestId` (tutorial shape) or `data.otpRequestId` (reference shape). */
export function readVerificationId(body: Json | undefined): string | undefined {
  const data = dataOf(body);
  const id = data?.otpRequestId ?? data?.requestId;
  return typeof id === "string" ? id : undefined;
}

/** The SMS's id at StartMessaging (`data.messageId`, reference shape), by which its delivery is asked. */
export function readMessageId(body: Json | undefined): string | undefined {
  const id = dataOf(body)?.messageId;
  return typeof id === "string" ? id : undefined;
}

/** A message's status: `{status}` (the reference) or `{data: {status}}` (the shape of the other answers). */
export function readDeliveryStatus(body: Json | undefined): unknown {
  return dataOf(body)?.status ?? body?.status;
}

/** Longest expiry we believe; anything later (or already past) is a unit mix-up or junk. */
const MAX_EXPIRY_MS = 24 * 3_600_000;

/** ISO 8601, epoch ms or epoch seconds; undefined unless it lies in the next 24 hours. */
export function readExpiresAt(body: Json | undefined, now: number): Date | undefined {
  const raw = dataOf(body)?.expiresAt;
  if (typeof raw !== "string" && typeof raw !== "number") return undefined;
  const date = new Date(typeof raw === "number" && raw < 1e11 ? raw * 1000 : raw);
  const ms = date.getTime();
  return Number.isNaN(ms) || ms <= now || ms > now + MAX_EXPIRY_MS ? undefined : date;
}

export function readAttemptsLeft(body: Json | undefined): number | undefined {
  const raw = dataOf(body)?.attemptsLeft;
  return typeof raw === "number" && Number.isInteger(raw) && raw >= 0 && raw <= 100 ? raw : undefined;
}

export function readVerified(body: Json | undefined): boolean | undefined {
  const raw = dataOf(body)?.verified ?? body?.verified;
  return typeof raw === "boolean" ? raw : undefined;
}

export interface UpstreamErrorInfo {
  /** The upstream's machine code, only when it looks like one (safe to log). */
  code?: string;
  retryAfterSeconds?: number;
}

const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Reads `{ error: { code, retry_after } }` or `{ code }`; messages are not kept (they may echo a number). */
export function readErrorInfo(body: Json | undefined): UpstreamErrorInfo {
  const error = body && isObject(body.error) ? body.error : body;
  const code = error?.code;
  const retryAfter = error?.retry_after ?? error?.retryAfter;
  return {
    // A code may echo a number (`NO_CREDIT_FOR_919876543210`): masked as a path is.
    code: typeof code === "string" && SAFE_CODE.test(code) ? maskDigitRuns(code) : undefined,
    retryAfterSeconds:
      typeof retryAfter === "number" && Number.isFinite(retryAfter) ? Math.ceil(retryAfter) : undefined,
  };
}

/** `Retry-After`: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.ceil((date - now) / 1000);
}

/** A larger answer than this is not a StartMessaging answer; we stop reading. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * The answer's body as text, or undefined when it is not one we read: longer
 * than MAX_RESPONSE_BYTES (declared or counted as the bytes arrive; reading
 * stops there and the rest is never fetched), or compressed, which we did not
 * ask for (`accept-encoding: identity`; the client fetches with
 * `decompress: false`, so a small compressed body never expands in memory).
 */
export async function readLimited(res: Response): Promise<string | undefined> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  const encoding = res.headers.get("content-encoding")?.trim().toLowerCase();
  if (declared > MAX_RESPONSE_BYTES || (encoding && encoding !== "identity")) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  // A declared length (checked above) frames the body exactly: read it whole; otherwise count.
  if (res.headers.has("content-length")) return await res.text();
  return (await readCapped(res.body, MAX_RESPONSE_BYTES))?.toString("utf8");
}
