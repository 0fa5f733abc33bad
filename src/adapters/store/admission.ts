import type { GuardRule, PumpVerdict } from "../../domain/pumping";
import type { RateDecision } from "../../domain/rate-window";
import type { BudgetDecision, SendBudget } from "../../domain/send-budget";
import type { Admission, SendTicket } from "./port";

/**
 * What a store's admission counted and claimed for one send, so that it can be
 * taken back (`cancel`), left (`release`) or completed (`record`): the only thing
 * a caller holds between the two steps of a send. Opaque to the caller; both
 * stores make and read the same shape.
 */
export interface TicketData {
  phone: string;
  /** The event this admission recorded in the phone's windows (not for a retry, or a test number). */
  event?: string;
  /** Each budget this admission counted in, with its receipt (the buckets counted). */
  receipts: { budget: SendBudget; receipt: string }[];
  /** The block whose count this admission's check made, and the bucket it counted in. */
  pumped?: { prefix: string; bucket: number };
  /** The block (and its range) this send is unproven in, and the bucket: given back when its code is verified. */
  unproven?: { prefix: string; bucket: number };
  /** The Idempotency-Key held for the send. */
  key?: string;
  /** How long the key remembers its retries once released (KeyClaim.keepMs). */
  keyKeepMs?: number;
  /** A retry of a keyed send: taken back or not, its key keeps its retries (released, never freed). */
  retry?: boolean;
}

/** `TicketData.pumped` for a send checked against `prefix`'s block: none when the check counted nothing. */
export function pumpedCount(
  prefix: string | undefined,
  verdict: PumpVerdict | undefined,
): TicketData["pumped"] {
  return prefix !== undefined && verdict?.counted !== undefined
    ? { prefix, bucket: verdict.counted }
    : undefined;
}

export const fromTicket = (ticket: SendTicket): TicketData => ticket as unknown as TicketData;

/** What an admitted send's answer says besides its ticket; `decision`: the phone's windows (none for a test number). */
export interface AdmittedFacts {
  decision?: RateDecision;
  verdict?: PumpVerdict;
  budgets?: readonly BudgetDecision[];
  proven?: boolean;
  monitored?: GuardRule;
  recharged?: boolean;
}

export function admitted(
  ticket: TicketData,
  facts: AdmittedFacts = {},
): Extract<Admission, { kind: "admitted" }> {
  const { decision, verdict, budgets, proven = false, monitored, recharged } = facts;
  // Every property written, undefined where absent: one shape for every admitted send.
  return {
    kind: "admitted",
    ticket: ticket as unknown as SendTicket,
    resendAfterSeconds: decision?.nextAllowedSeconds ?? 0,
    retry: decision ? !decision.recorded : false,
    proven,
    decision,
    verdict,
    budgets,
    monitored,
    recharged: recharged || undefined,
  };
}

/** What an Idempotency-Key claimed before says: its answer again, a send in progress, or another phone's key. */
export type KeyTaken =
  | { state: "done"; answer: string }
  | { state: "pending" }
  | { state: "conflict" }
  | { state: "spent" };

export function keyTaken(claim: KeyTaken): Admission {
  if (claim.state === "done") return { kind: "replay", answer: claim.answer };
  if (claim.state === "spent") return { kind: "retries_spent" };
  return { kind: claim.state === "pending" ? "in_progress" : "conflict" };
}
