import type { VerificationRef } from "../../domain/ids";
import type { PumpingPolicy, PumpVerdict } from "../../domain/pumping";
import type { RatePolicy } from "../../domain/rate-policy";
import type { RateDecision } from "../../domain/rate-window";
import type { BudgetDecision, SendBudget } from "../../domain/send-budget";

/**
 * Shared state of the gateway: per-phone sliding windows, idempotency records and
 * verification records. Implemented on Redis (one server or a Cluster) and in
 * memory (one process). Every method is atomic on its own; every key expires
 * (but one: the secret the tags of verification ids are keyed with).
 * A store that cannot answer throws `GatewayError("STORE_UNAVAILABLE")`.
 */
export interface OtpStore {
  readonly kind: "redis" | "redis-cluster" | "memory";

  /**
   * Checks every window of the policy against `phone`'s sends and records the send
   * (`member`) only when all allow. A denied send is not recorded; a member
   * already recorded passes without being counted twice (a retried send).
   */
  hit(phone: string, policy: RatePolicy, member: string): Promise<RateDecision>;
  /** Takes back a send recorded by `hit` or `admitSend` (it did not go out). */
  unhit(phone: string, member: string): Promise<void>;
  /**
   * Every check before a send in one atomic step, all or nothing: the
   * Idempotency-Key's claim (`checks.claim`), the phone's windows (as `hit`), the
   * pumping guard's verdict on the number's prefix and the send budgets. A key
   * claimed before (pending, answered, or another phone's) is answered as
   * `claimIdempotency` would and nothing else is asked or recorded; a new claim is
   * kept only when the send is admitted. When the windows refuse, nothing else is asked. A prefix
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

  /**
   * Claims an idempotency key for `phone` (a pending claim expires after `pendingMs`):
   * a key belongs to one phone, and another phone's claim on it is a conflict. A send
   * to a test number claims here; any other claims in `admitSend`.
   */
  claimIdempotency(key: string, phone: string, pendingMs: number): Promise<IdempotencyClaim>;
  /**
   * Binds an Idempotency-Key to `phone` unless it is bound (for `pendingMs`): `new`
   * (bound now), `same` (to this phone already) or `other` (another phone's key).
   * A claim lives under its phone's hash tag, so that a send claims its key and
   * checks its windows in one step; this binding, on the key's own slot and issued
   * beside that step, is what finds a key another phone claimed.
   */
  ownIdempotency(key: string, phone: string, pendingMs: number): Promise<"new" | "same" | "other">;
  /**
   * Takes back a binding `ownIdempotency` made (`new`) for a request that kept no claim (refused,
   * or it found another phone's claim), while it still names `phone`.
   */
  unbindIdempotency(key: string, phone: string): Promise<void>;
  /** Stores the answer for a claimed key (and its binding to the phone), kept for `ttlMs`. */
  completeIdempotency(key: string, phone: string, answer: string, ttlMs: number): Promise<void>;
  /**
   * Drops `phone`'s pending claim so the caller may retry (the send failed); with `answered`, a stored
   * answer too; with the claim, the key's binding to the phone. Another phone's claim is left alone.
   */
  releaseIdempotency(key: string, phone: string, answered?: boolean): Promise<void>;

  /**
   * The tag of `phone`'s verification ids (src/domain/ids.ts), under a secret every
   * gateway on this store shares; a promise only while the secret is being read.
   */
  phoneTag(phone: string): string | Promise<string>;
  /** Remembers which phone a verification id belongs to, until the code expires; an id already known is left as it is. */
  saveVerification(id: VerificationRef, phone: string, ttlMs: number): Promise<void>;
  /**
   * One step finds the id and begins its check: spends one attempt and, with
   * `window`, charges the id's phone one verify against the policy's windows, or
   * says why not: the id is unknown, used or out of attempts (nothing charged), or
   * the phone's windows refuse (`limited`, with their decision; no attempt spent).
   */
  beginVerify(id: VerificationRef, maxAttempts: number, window?: { policy: RatePolicy; member: string }): Promise<VerifyStart>;
  /** Marks the id verified; true only for the first caller, so success is reported once. */
  claimVerified(id: VerificationRef): Promise<boolean>;
  /** Takes back what `beginVerify` charged to the id's phone (`window.member`): that attempt was not a guess. */
  refundVerify(id: VerificationRef, member: string): Promise<void>;

  /** Resolves true once connected, false after `timeoutMs` (the store keeps trying). */
  connected(timeoutMs: number): Promise<boolean>;
  /** Round trip to the backing store, for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What `admitSend` checks besides the phone's windows. */
export interface AdmitChecks {
  /** The Idempotency-Key to claim for the phone, and how long a pending claim lives. */
  claim?: { key: string; pendingMs: number };
  /** The pumping guard's check of the number's prefix, by the policy it is judged by now. */
  pump?: { prefix: string; policy: PumpingPolicy };
  budgets?: readonly SendBudget[];
}

/** What `admitSend` decided: the key's claim, the phone's windows, the prefix's verdict and each budget's, as far as they were asked. */
export interface Admission {
  /** With a key: its claim. Unless `new`, nothing else was asked (`decision` allows, recording nothing). */
  claim?: IdempotencyClaim;
  decision: RateDecision;
  pump?: PumpVerdict;
  /** In the order given; only when the budgets were asked. */
  budgets?: BudgetDecision[];
}

/** What `beginVerify` found: the attempt's fate and, for a known id, its phone; when `limited`, the windows' decision. */
export interface VerifyStart {
  state: "ok" | "unknown" | "used" | "exhausted" | "limited";
  phone?: string;
  decision?: RateDecision;
}

export type IdempotencyClaim =
  | { state: "new" }
  | { state: "pending" }
  | { state: "conflict" }
  | { state: "done"; answer: string };
