import type { SmsProvider } from "../../adapters/sms/port";
import type {
  DeliveryStore,
  GuardAdminStore,
  GuardCounts,
  SendingStore,
  VerifyingStore,
} from "../../adapters/store/port";
import type { PumpingPolicy, UnprovenBounds } from "../../domain/pumping";
import type { RatePolicy } from "../../domain/rate-policy";
import type { ReturningPolicy } from "../../domain/returning";
import type { SendBudget } from "../../domain/send-budget";
import type { TestNumber } from "../../domain/test-numbers";
import type { ErrorCode } from "../../errors";
import type { Logger } from "../../observability/logger";
import type { Metrics, RefusalRule } from "../../observability/metrics";
import type { DeliveryPolicy } from "./delivery-tracker";
import type { SendAnswer, VerifyAnswer } from "./model";

/** The gateway's own rules around every send and verify. */
export interface OtpPolicy {
  phoneSend: RatePolicy;
  phoneVerify: RatePolicy;
  /** Upper-case ISO 3166 codes; undefined allows every country. */
  allowedCountries?: ReadonlySet<string>;
  /** Verifies per request id, whatever the upstream says. */
  maxAttempts: number;
  /** How long an Idempotency-Key replays its first answer. */
  idempotencyTtlMs: number;
  /** How long an unfinished claim on a key blocks others (the worst upstream wait). */
  idempotencyPendingMs: number;
  /** Sends with one key after the first whose attempt failed (5xx, timeout); past these, the key is spent. */
  idempotencyRetries: number;
  /** Ceilings on sends (SEND_BUDGETS); empty: none. Their reserve is enforced only with the guard enforced. */
  sendBudgets: readonly SendBudget[];
  /** BUDGET_RESERVE as a share (0–1): enforced, monitored or off with the pumping guard's mode. */
  budgetReserve: number;
  /** The pumping guard (PUMPING_*). */
  pumping: PumpingPolicy;
  /** The bounds on unproven sends per block and range (PUMPING_UNPROVEN_*); absent: none. */
  unproven?: UnprovenBounds;
  /** Returning users (RETURNING_USERS); absent: no number is proven. */
  returning?: ReturningPolicy;
  /** Estimated price of one SMS by country (`*` for the rest), for the spend metric. */
  smsPrices: ReadonlyMap<string, number>;
  /** Tell the caller why a verify failed. Off by default: one generic answer leaks less. */
  exposeReason: boolean;
  /** Test numbers (TEST_PHONES) by E.164 number. */
  testNumbers: ReadonlyMap<string, TestNumber>;
  /** A code's lifetime when the gateway makes the id itself (a test number). */
  otpTtlMs: number;
  /** How long a verification's record outlives its code, for its status (VERIFICATION_KEEP). */
  verificationKeepMs: number;
  /** Following each SMS's delivery (DELIVERY_STATUS, DELIVERY_POLL_PACE). */
  delivery: DeliveryPolicy;
}

export interface OtpServiceDeps {
  provider: SmsProvider;
  /** What sending and verifying ask of the store, the pumping guard's counts, and what its gauges read. */
  store: SendingStore &
    VerifyingStore &
    DeliveryStore &
    GuardCounts &
    Pick<GuardAdminStore, "budgetUse" | "blocks">;
  policy: OtpPolicy;
  logger: Logger;
  metrics: Metrics;
}

export interface SendOutcome {
  answer: SendAnswer;
  /** Masked, for the request log. */
  maskedPhone: string;
  replayed: boolean;
  /** A test number's send (TEST_PHONES): no SMS went out. */
  test?: boolean;
  /** In monitor mode, the rule that would have refused this send. */
  monitored?: RefusalRule;
}

export interface VerifyOutcome {
  answer: VerifyAnswer;
  /** A test number's verify (TEST_PHONES). */
  test: boolean;
  /** The id as its request line shows it: masked unless the store knew it. */
  loggedId: string;
}

/** Failures after which the upstream surely sent nothing: the send is not counted. */
export const NOTHING_SENT: ReadonlySet<ErrorCode> = new Set([
  "INVALID_PHONE",
  "UNSUPPORTED_COUNTRY",
  "GATEWAY_MISCONFIGURED",
  "PROVIDER_UNAVAILABLE",
  "RATE_LIMITED",
  "IDEMPOTENCY_CONFLICT",
  "CLIENT_CLOSED_REQUEST",
]);
