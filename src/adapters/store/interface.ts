import type { PumpingPolicy, PumpVerdict } from "../../lib/pumping";
import type { RatePolicy } from "../../lib/rate-policy";
import type { RateDecision } from "../../lib/rate-window";
import type { BudgetDecision, SendBudget } from "../../lib/send-budget";

/**
 * Shared state of the gateway: per-phone sliding windows, idempotency records and
 * verification records. Implemented on Redis (one server or a Cluster) and in
 * memory (one process). Every method is atomic on its own; every key expires.
 * A store that cannot answer throws `GatewayError("STORE_UNAVAILABLE")`.
 */
export interface OtpStore {
  readonly kind: "redis" | "redis-cluster" | "memory";

  /**
   * Checks every window of the policy against `phone`'s events of this kind and records the event
   * (`member`) only when all allow. A denied event is not recorded; a member
   * already recorded passes without being counted twice (a retried send).
   */
  hit(phone: string, kind: EventKind, policy: RatePolicy, member: string): Promise<RateDecision>;
  /** Takes back an event recorded by `hit` (the send did not go out). */
  unhit(phone: string, kind: EventKind, member: string): Promise<void>;
  /**
   * Every check before a send in one atomic step, all or nothing: the phone's
   * windows (as `hit`), the pumping guard's verdict on the number's prefix and
   * the send budgets. When the windows refuse, nothing else is asked. A prefix
   * is safe-listed or clear, blocked, or blocked by this very check (its judged
   * sends convert too little); when it is blocked and the guard enforces, the
   * budgets are not asked and nothing is recorded. A retried send (its member
   * recorded before) asks no budget and counts nothing. When a budget refuses,
   * nothing is recorded. Otherwise the event, the prefix's count (`counted`;
   * `pumpUncount` takes it back) and each budget's send (`refundBudget` takes
   * it back) are. The prefix is the phone without its last PUMPING_PREFIX_DROP digits; unless the
   * block is safe-listed, its range (PUMPING_RANGE_DROP) is judged after it and counts the send too.
   */
  admitSend(phone: string, policy: RatePolicy, member: string, checks: AdmitChecks): Promise<Admission>;

  /**
   * Counts one send against every window of a budget, atomically across every
   * gateway on this store, when all allow; a denied send is not counted.
   * With `record` false it only looks (the operator's view of the use).
   */
  reserveBudget(budget: SendBudget, record?: boolean): Promise<BudgetDecision>;
  /** Takes back a send counted by `reserveBudget` or `admitSend` (it did not go out). */
  refundBudget(budget: SendBudget, receipt: string): Promise<void>;

  /** Takes back a send counted by `admitSend`'s pumping check (it did not go out), from the block and its range. */
  pumpUncount(prefix: string, bucket: number): Promise<void>;
  /** Counts a send that went out (when the check did not), or a send verified, for its block and its range. */
  pumpRecord(prefix: string, kind: "sent" | "verified", policy: PumpingPolicy): Promise<void>;
  /** Blocks and ranges (`range` true) blocked now, with ms left and their strikes. */
  pumpBlocks(): Promise<{ prefix: string; remainingMs: number; strikes: number; range: boolean }[]>;
  /** Ends a block's block, or a range's (`range` true); its strikes stay. True if it was blocked. */
  pumpLift(prefix: string, range?: boolean): Promise<boolean>;
  /** Puts a whole prefix (`number` undefined) or one number of it on the safe list, or takes it off. */
  pumpSafe(prefix: string, number: string | undefined, add: boolean): Promise<void>;
  /** Forgets one phone's send and verify windows (the support desk's "my user is locked out"). */
  clearPhone(phone: string): Promise<void>;

  /** Claims an idempotency key for `fingerprint` (a pending claim expires after `pendingMs`). */
  claimIdempotency(key: string, fingerprint: string, pendingMs: number): Promise<IdempotencyClaim>;
  /** Stores the answer for a claimed key, kept for `ttlMs`. */
  completeIdempotency(key: string, fingerprint: string, answer: string, ttlMs: number): Promise<void>;
  /** Drops a pending claim so the caller may retry (the send failed); with `answered`, a stored answer too. */
  releaseIdempotency(key: string, answered?: boolean): Promise<void>;

  /** Remembers which phone a verification id belongs to, until the code expires; an id already known is left as it is. */
  saveVerification(id: string, phone: string, ttlMs: number): Promise<void>;
  /**
   * Spends one attempt, or says why not (the id is unknown, used or out of attempts),
   * with the id's phone: one step finds the id and begins its check.
   */
  beginVerify(id: string, maxAttempts: number): Promise<VerifyStart>;
  /** Gives back an attempt `beginVerify` spent on a check that never ran. */
  refundAttempt(id: string): Promise<void>;
  /** Marks the id verified; true only for the first caller, so success is reported once. */
  claimVerified(id: string): Promise<boolean>;

  /** Resolves true once connected, false after `timeoutMs` (the store keeps trying). */
  connected(timeoutMs: number): Promise<boolean>;
  /** Round trip to the backing store, for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type EventKind = "send" | "verify";

/** What `admitSend` checks besides the phone's windows. */
export interface AdmitChecks {
  /** The pumping guard's check of the number's prefix, by the policy it is judged by now. */
  pump?: { prefix: string; policy: PumpingPolicy };
  budgets?: readonly SendBudget[];
}

/** What `admitSend` decided: the phone's windows, the prefix's verdict and each budget's, as far as they were asked. */
export interface Admission {
  decision: RateDecision;
  pump?: PumpVerdict;
  /** In the order given; only when the budgets were asked. */
  budgets?: BudgetDecision[];
}

/** What `beginVerify` found: the attempt's fate and, for a known id, its phone. */
export interface VerifyStart {
  state: "ok" | "unknown" | "used" | "exhausted";
  phone?: string;
}

export type IdempotencyClaim =
  | { state: "new" }
  | { state: "pending" }
  | { state: "conflict" }
  | { state: "done"; answer: string };
