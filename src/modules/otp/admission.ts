import type { IdempotencyClaim, OtpStore } from "../../adapters/store/port";
import type { MobileNumber } from "../../domain/phone";
import type { RatePolicy } from "../../domain/rate-policy";
import type { RateDecision } from "../../domain/rate-window";
import { GatewayError } from "../../errors";
import type { PumpingGuard } from "./pumping-guard";
import { budgetExhausted, type SpendGuard } from "./spend-guard";

/** What passed before a send: the phone windows' decision, and what the checks counted for it. */
export interface Admitted {
  decision: RateDecision;
  /** Takes back what this admission counted (the send did not go out). */
  undo(): Promise<void>;
  /** The send went out (the pumping guard counts it where its check did not). */
  sent(): Promise<void>;
}

/** An Idempotency-Key claimed before (pending, answered, or another phone's): nothing was asked or counted. */
export interface ClaimedBefore {
  claimedBefore: Exclude<IdempotencyClaim, { state: "new" }>;
}

/**
 * The checks before a send, in one store step (one round trip, whatever the
 * store), all or nothing: the Idempotency-Key's claim, the phone's windows, the
 * pumping guard and the send budgets. A key claimed before is returned as it
 * is; the first check that refuses is thrown: the phone's limit, then a blocked
 * prefix, then a budget. Admitted with a key, the key's claim is held.
 */
export async function admit(
  deps: { store: OtpStore; phoneSend: RatePolicy; spend: SpendGuard; pumping: PumpingGuard },
  mobile: MobileNumber,
  event: string,
  claim?: { key: string; pendingMs: number },
): Promise<Admitted | ClaimedBefore> {
  const { store, phoneSend, spend, pumping } = deps;
  const budgets = spend.budgetsFor(mobile.country);
  const plan = pumping.judges(mobile) ? pumping.plan(mobile) : undefined;
  const admission =
    plan || budgets.length > 0 || claim
      ? await store.admitSend(mobile.e164, phoneSend, event, { pump: plan, budgets, claim })
      : { decision: await store.hit(mobile.e164, phoneSend, event) };
  if (admission.claim && admission.claim.state !== "new") return { claimedBefore: admission.claim };
  const { decision } = admission;
  if (!decision.allowed) throw GatewayError.rateLimited({ policy: phoneSend, decision });
  const pass = plan ? pumping.judge(mobile, plan.prefix, admission.pump) : pumping.passThrough(mobile);
  if (!pass.allowed) throw new GatewayError("DESTINATION_BLOCKED");
  const reservation = spend.settle(budgets, admission.budgets);
  if (reservation.denied) throw budgetExhausted(reservation.denied.decision);
  if (!decision.recorded) {
    // A retry of a keyed send that may have gone out (its event is there already): that attempt
    // holds the budgets and the prefix's count, and the upstream dedups the key. Nothing was
    // counted again, nor refused by a budget that attempt used up.
    return { decision, undo: async () => {}, sent: async () => {} };
  }
  const undo = async () => {
    await Promise.all([store.unhit(mobile.e164, event).catch(() => undefined), reservation.refund(), pass.undo()]);
  };
  return { decision, undo, sent: pass.sent };
}
