import type { VerificationRef } from "../../domain/ids";
import type { GuardRule, PumpingPolicy, PumpVerdict, UnprovenBounds } from "../../domain/pumping";
import type { RatePolicy } from "../../domain/rate-policy";
import type { RateDecision } from "../../domain/rate-window";
import type { ReturningPolicy } from "../../domain/returning";
import type { BudgetDecision, SendBudget } from "../../domain/send-budget";
import type { CancelResult, DeliveryStatus, VerificationState } from "../../domain/verification-status";

/**
 * The gateway's shared state, by role: sending a code, verifying one, the pumping
 * guard's counts, the operators' view and changes, and the store's own lifecycle.
 * Implemented on Redis, one server or a Cluster (`redis/`), and in memory, one
 * process (`memory/`). Every call is atomic on its own, and every key expires (but
 * one: the secret the tags of verification ids are keyed with). A store that cannot
 * answer throws `GatewayError("STORE_UNAVAILABLE")`.
 */
export interface OtpStore
  extends SendingStore,
    VerifyingStore,
    DeliveryStore,
    GuardCounts,
    GuardAdminStore,
    StoreLifecycle {}

/** An Idempotency-Key as the store keeps it (hashed, with the caller's id), and how its claims live. */
export interface KeyClaim {
  key: string;
  /** How long an unanswered claim lives. */
  pendingMs: number;
  /** Sends with the key after the first whose attempt failed (5xx, timeout): past these, `retries_spent`. */
  retries: number;
  /** How long a key released by a failed send remembers its retries. */
  keepMs: number;
}

/** The pumping guard's check of a send: the number's block, the policy it is judged by now, and the bounds on unproven sends. */
export interface PumpCheck {
  prefix: string;
  policy: PumpingPolicy;
  bounds?: UnprovenBounds;
}

/** What a send asks of the store before the upstream is called. */
export type SendRequest =
  | {
      /** A real SMS: the phone's windows, the guard and the budgets decide, with the key's claim. */
      kind: "sms";
      /** The number as the gateway keys it (E.164). */
      phone: string;
      /** The send's id in the phone's windows; a keyed send's is the key's, so a retry is not counted twice. */
      event: string;
      window: RatePolicy;
      key?: KeyClaim;
      /** Absent with the guard off, or for a number the environment's safe list covers. */
      pump?: PumpCheck;
      /** Whether the number is a returning user is asked (RETURNING_USERS); absent: no number is. */
      returning?: ReturningPolicy;
      budgets: readonly SendBudget[];
    }
  | {
      /** A test number (TEST_PHONES): free, so only its key is claimed. */
      kind: "test";
      phone: string;
      key?: KeyClaim;
    };

declare const ticket: unique symbol;
/**
 * What an admitted send counted and claimed, for the store alone to read: handed
 * back to `cancel`, `release` or `record` it, whatever happens to the send.
 */
export type SendTicket = { readonly [ticket]: true };

/**
 * What the store decided about a send, all in one step (one round trip): the first
 * check that refuses wins, and nothing of a refused send stays counted.
 */
export type Admission =
  /** The key was answered before: its answer, as it was; nothing was asked or counted. */
  | { kind: "replay"; answer: string }
  /** A send with the key is still running (on this gateway or another). */
  | { kind: "in_progress" }
  /** The key is another phone's. */
  | { kind: "conflict" }
  /** The key's send failed and was retried as often as it may be (KeyClaim.retries): nothing was asked or counted. */
  | { kind: "retries_spent" }
  /** The phone's send windows refuse. */
  | { kind: "limited"; decision: RateDecision }
  /**
   * The pumping guard refuses (enforce): the number's block or its range is blocked, or holds as many
   * unproven sends as it may (`rule`). A proven number is never refused by the guard.
   */
  | { kind: "blocked"; rule: GuardRule; verdict: PumpVerdict }
  /**
   * A budget refuses: every budget asked, in the order given (one or more refused), whether the number
   * is proven (a send that is not may use only a budget's open share), and the guard's verdict.
   */
  | { kind: "over_budget"; budgets: readonly BudgetDecision[]; proven: boolean; verdict?: PumpVerdict }
  | {
      kind: "admitted";
      ticket: SendTicket;
      /** The phone's send windows with this send counted (absent for a test number). */
      decision?: RateDecision;
      /** Seconds before the phone may ask again (0 for a test number). */
      resendAfterSeconds: number;
      /**
       * A retry of a keyed send whose first attempt was admitted: nothing was counted again, but the
       * budgets, once its first charge was older than their shortest window (`recharged`).
       */
      retry: boolean;
      /** A retry charged to the budgets again (its first charge had left their shortest window). */
      recharged?: boolean;
      /** The number verified lately (a returning user): no rule of the guard refused it. */
      proven: boolean;
      /** In monitor mode, the guard's rule that would have refused the send. */
      monitored?: GuardRule;
      /** The guard's verdict (not clear only in monitor mode); absent when it was not asked. */
      verdict?: PumpVerdict;
      /** Each budget's decision, with this send counted; absent when none was asked (a retry). */
      budgets?: readonly BudgetDecision[];
    };

/** What went out: recorded with the ticket, so that a verify finds the code and a keyed retry its answer. */
export interface SentCode {
  id: VerificationRef;
  /** The code's lifetime left. */
  ttlMs: number;
  /** How long the record stays readable (its status) after the code's expiry: VERIFICATION_KEEP. */
  keepMs: number;
  sentAtMs: number;
  expiresAtMs: number;
  /** Verify attempts the code allows. */
  attempts: number;
  /** The caller key's id it was sent under ('' without caller keys). */
  caller: string;
  /** The send's answer, kept for its Idempotency-Key (when it has one) for `answerTtlMs`. */
  answer: string;
  answerTtlMs: number;
}

/** Sending a code: admit it, then record it, or cancel or release it. */
export interface SendingStore {
  /** The tag of `phone`'s verification ids (src/domain/ids.ts), under a secret every gateway on this store shares; a promise only while it is being read. */
  phoneTag(phone: string): string | Promise<string>;
  /**
   * Every check before a send in one atomic step, all or nothing: the key's claim, the
   * phone's windows, the guard's check of the number's block and range, and the budgets.
   * Admitted, the send is counted in each and the key is held for it.
   */
  admit(request: SendRequest): Promise<Admission>;
  /** Nothing went out: takes back all that the admission counted, and frees the key. */
  cancel(ticket: SendTicket): Promise<void>;
  /**
   * It may have gone out (a timeout, a 5xx): the phone's windows and the budgets keep it, the guard's
   * counts do not; the key is freed for a retry, with its retries counted.
   */
  release(ticket: SendTicket): Promise<void>;
  /** It went out: the verification record and, with a key, the key's answer. */
  record(ticket: SendTicket, sent: SentCode): Promise<void>;
  /** The record step failed: forgets the key's answer too, so that a retry with the key sends (the upstream dedups). */
  forget(ticket: SendTicket): Promise<void>;
}

/** Verifying a code. */
export interface VerifyingStore {
  /**
   * Finds the id and begins its check: spends one attempt and, with `window`, charges
   * the id's phone one verify against the policy's windows, or says why not: the id is
   * unknown, used or out of attempts (nothing charged), or the phone's windows refuse
   * (`limited`, with their decision; no attempt spent).
   */
  beginVerify(
    id: VerificationRef,
    maxAttempts: number,
    window?: { policy: RatePolicy; member: string },
    /** The caller key's id ('' without caller keys): another caller's id is unknown to it. */
    caller?: string,
  ): Promise<VerifyStart>;
  /** Marks the id verified; true only for the first caller, so success is reported once. */
  claimVerified(id: VerificationRef): Promise<boolean>;
  /** Takes back what `beginVerify` charged to the id's phone (`member`): that attempt was not a guess. */
  refundVerify(id: VerificationRef, member: string): Promise<void>;
  /** The id's record as it stands, or undefined once it is forgotten (VERIFICATION_KEEP after its code's expiry). */
  verification(id: VerificationRef): Promise<VerificationState | undefined>;
  /**
   * Cancels a pending verification of `caller`'s (its code can no longer verify); another caller's id is
   * unknown. Whether it has ended is judged by the gateway's clock and its attempts, as a verify would.
   */
  cancelVerification(id: VerificationRef, caller: string, maxAttempts: number): Promise<CancelResult>;
}

/** What the upstream reports of the SMS of each verification, and the pace every gateway asks it at. */
export interface DeliveryStore {
  /** Keeps a delivery status on the id's record when it is further along than the one held (never back). */
  recordDelivery(id: VerificationRef, status: DeliveryStatus, atMs: number): Promise<void>;
  /**
   * One request to the upstream about a delivery, if the pace shared by every gateway on this store
   * allows it now (`policy`'s windows, e.g. 5 a second): true when taken, false to ask again later.
   */
  takeDeliveryPoll(policy: RatePolicy): Promise<boolean>;
}

/** A code verified, as the guard counts it. */
export interface VerifiedCode {
  phone: string;
  /** Its block, counted for the conversion the guard judges (absent with the guard off). */
  pump?: PumpCheck;
  /** The bucket its send was unproven in (VerifyStart's `unproven`): that place is given back. */
  unproven?: number;
  /** The number is proven from now on (absent: no returning users). */
  returning?: ReturningPolicy;
}

/** The pumping guard's counts beside the admission's own. */
export interface GuardCounts {
  /** A code verified: counted for its block and its range, its send's unproven place given back, its number proven. */
  countVerified(code: VerifiedCode): Promise<void>;
}

/** A block or range the guard has blocked. */
export interface GuardBlock {
  prefix: string;
  remainingMs: number;
  strikes: number;
  /** A wider range (PUMPING_RANGE_DROP), not a block of its own. */
  range: boolean;
}

/** A block or range at its bound on unproven sends: new numbers of it are refused until codes are verified. */
export interface BoundedPrefix {
  prefix: string;
  /** A wider range (PUMPING_RANGE_DROP), not a block of its own. */
  range: boolean;
  /** Its unproven sends in the bounds' window now. */
  unproven: number;
}

/** A whole block, or one number of it. */
export type SafeEntry = { prefix: string } | { prefix: string; number: string };

/** What an operator may see and change. */
export interface GuardAdminStore {
  /** Blocks and ranges blocked now. */
  blocks(): Promise<GuardBlock[]>;
  /** Blocks and ranges at a bound on unproven sends now (the most held first, a hundred at most). */
  bounded(bounds: UnprovenBounds): Promise<BoundedPrefix[]>;
  /** Ends a block's block; its strikes stay. True if it was blocked. */
  liftBlock(prefix: string): Promise<boolean>;
  /** Ends a range's block (the range's prefix); its strikes stay. True if it was blocked. */
  liftRange(prefix: string): Promise<boolean>;
  addToSafeList(entry: SafeEntry): Promise<void>;
  removeFromSafeList(entry: SafeEntry): Promise<void>;
  /** A budget's use now, counting nothing. */
  budgetUse(budget: SendBudget): Promise<BudgetDecision>;
  /** Forgets one phone's send and verify windows (the support desk's "my user is locked out"). */
  clearPhone(phone: string): Promise<void>;
}

export interface StoreLifecycle {
  readonly kind: "redis" | "redis-cluster" | "memory";
  /** Resolves true once connected, false after `timeoutMs` (the store keeps trying). */
  connected(timeoutMs: number): Promise<boolean>;
  /** Round trip to the backing store, for /readyz. */
  ping(): Promise<void>;
  /** Why the store cannot be reached, when that is known (a refused password): /readyz says it. */
  problem?(): string | undefined;
  close(): Promise<void>;
}

/** What `beginVerify` found: the attempt's fate and, for a known id, its phone; when `limited`, the windows' decision. */
export type VerifyStart =
  | { state: "unknown" }
  | { state: "ok" | "used" | "canceled" | "exhausted" | "expired"; phone: string; unproven?: number }
  | { state: "limited"; phone: string; unproven?: number; decision: RateDecision };
