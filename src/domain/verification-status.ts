/**
 * A verification's life as the gateway tells it: `pending` while its code may still verify, then
 * one of four ends. Derived from the record the store keeps (until the code's expiry plus
 * VERIFICATION_KEEP), never stored as such, so no end can be missed by a timer that did not run.
 */
export const VERIFICATION_STATUSES = ["pending", "verified", "expired", "canceled", "failed"] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/**
 * What the gateway knows of a code's SMS: `unknown` until the upstream says more, then `queued`,
 * `sent`, and finally `delivered` or `failed`. A report never moves it back.
 */
export const DELIVERY_STATUSES = ["queued", "sent", "delivered", "failed", "unknown"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

const DELIVERY_RANK: Record<DeliveryStatus, number> = {
  unknown: 0,
  queued: 1,
  sent: 2,
  delivered: 3,
  failed: 3,
};
/** Where a delivery status stands in its order: a report is kept only when it is further along. */
export const deliveryRank = (status: DeliveryStatus): number => DELIVERY_RANK[status];
export const isFinalDelivery = (status: DeliveryStatus): boolean => DELIVERY_RANK[status] === 3;

/** A delivery status as an upstream words it (StartMessaging: initiated, queued, sent, delivered, failed). */
export function deliveryStatusOf(upstream: unknown): DeliveryStatus {
  switch (typeof upstream === "string" ? upstream.toLowerCase() : "") {
    case "initiated":
    case "queued":
    case "accepted":
      return "queued";
    case "sent":
      return "sent";
    case "delivered":
      return "delivered";
    case "failed":
    case "undelivered":
    case "rejected":
    case "expired":
      return "failed";
    default:
      return "unknown";
  }
}

/** What the store keeps of one verification. */
export interface VerificationState {
  /** The number, as the gateway keys it (E.164, or a test number as listed). */
  phone: string;
  /** When the send was recorded, ms since the epoch. */
  sentAtMs: number;
  /** When its code stops working, ms since the epoch. */
  expiresAtMs: number;
  /** Verify attempts the code allowed at its send, and those spent since. */
  attemptsAllowed: number;
  attemptsSpent: number;
  verified: boolean;
  canceled: boolean;
  /** The caller key's id it was sent under ('' without GATEWAY_API_KEYS): only that caller sees it. */
  caller: string;
  /** The last delivery status the upstream reported, and when it was learned; absent: none yet. */
  delivery?: { status: DeliveryStatus; atMs: number };
}

/**
 * Where a verification stands at `nowMs`: a verified one stays so; attempts used up end it as
 * failed (a cancel after that changes nothing but stops an attempt still in flight); a canceled
 * one stays so; else it expires with its code.
 */
export function statusOf(state: VerificationState, nowMs: number): VerificationStatus {
  if (state.verified) return "verified";
  if (state.attemptsSpent >= state.attemptsAllowed) return "failed";
  if (state.canceled) return "canceled";
  if (nowMs >= state.expiresAtMs) return "expired";
  return "pending";
}

/** Verify attempts left: none once the verification has ended. */
export const attemptsLeftOf = (state: VerificationState, nowMs: number): number =>
  statusOf(state, nowMs) === "pending" ? Math.max(0, state.attemptsAllowed - state.attemptsSpent) : 0;

/** What cancelling found: canceled now, not found (or another caller's), or already ended. */
export type CancelResult =
  | { kind: "canceled" }
  | { kind: "unknown" }
  | { kind: "ended"; status: Exclude<VerificationStatus, "pending"> };
