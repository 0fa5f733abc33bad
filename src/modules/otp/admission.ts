import type { Admission, OtpStore } from "../../adapters/store/interface";
import { GatewayError } from "../../errors";
import type { MobileNumber } from "../../lib/phone";
import type { RatePolicy } from "../../lib/rate-policy";
import type { RateDecision } from "../../lib/rate-window";
import type { PumpingGuard } from "./pumping-guard";
import { budgetExhausted, NOTHING_RESERVED, type SpendGuard } from "./spend";

/** What passed before a send: the phone windows' decision, and what the checks counted for it. */
export interface Admitted {
  decision: RateDecision;
  /** Takes back what this admission counted (the send did not go out). */
  undo(): Promise<void>;
  /** The send went out (the pumping guard counts it where its check did not). */
  sent(): Promise<void>;
}

/**
 * The checks before a send, issued together (one round trip, whatever the
 * store): the phone's windows, the send budgets and the pumping guard. When one
 * refuses, what the others counted is taken back and that refusal is thrown:
 * a store failure first, then a blocked prefix, the phone's limit, a budget.
 */
export async function admit(
  deps: { store: OtpStore; phoneSend: RatePolicy; spend: SpendGuard; pumping: PumpingGuard },
  mobile: MobileNumber,
  event: string,
): Promise<Admitted> {
  const { store, phoneSend, spend, pumping } = deps;
  const budgeted = spend.appliesTo(mobile.country);
  const judged = pumping.judges(mobile);
  if (!budgeted && !judged) {
    // Nothing but the phone's windows to ask: one call, as before the spend guard.
    const decision = await store.hit(mobile.e164, "send", phoneSend, event);
    if (!decision.allowed) throw GatewayError.rateLimited({ policy: phoneSend, decision });
    return { decision, undo: () => unhit(store, mobile, event, decision), sent: pumping.passThrough(mobile).sent };
  }
  // The phone's windows and the prefix in one step (one slot), the budgets beside it: one round trip.
  const plan = judged ? pumping.plan(mobile) : undefined;
  const [step, held] = await Promise.allSettled([
    plan
      ? store.admitSend(mobile.e164, phoneSend, event, plan)
      : store.hit(mobile.e164, "send", phoneSend, event).then((decision): Admission => ({ decision })),
    budgeted ? spend.reserve(mobile.country) : NOTHING_RESERVED,
  ]);
  const hit = step.status === "fulfilled" ? step.value.decision : undefined;
  const pass =
    step.status === "fulfilled" && plan ? pumping.judge(mobile, plan.prefix, step.value.pump) : pumping.passThrough(mobile);
  const allowed = hit?.allowed === true;
  const reservation = held.status === "fulfilled" ? held.value : undefined;
  const reserved = reservation !== undefined && !reservation.denied;
  if (allowed && pass.allowed && !hit!.recorded && reservation) {
    // A retry of a keyed send that may have gone out (its event is there already): that attempt
    // holds the budgets and the prefix's count, and the upstream dedups the key. Not counted
    // again, nor refused by a budget that attempt used up.
    await Promise.all([reserved ? reservation.refund() : undefined, pass.undo()]);
    return { decision: hit!, undo: async () => {}, sent: pass.sent };
  }
  if (allowed && reserved && pass.allowed) {
    const decision = hit!;
    const undo = async () => {
      await Promise.all([unhit(store, mobile, event, decision), reservation.refund(), pass.undo()]);
    };
    return { decision, undo, sent: pass.sent };
  }
  await Promise.all([
    hit ? unhit(store, mobile, event, hit) : undefined,
    reserved ? reservation.refund() : undefined,
    pass.undo(),
  ]);
  for (const result of [step, held]) if (result.status === "rejected") throw result.reason;
  if (!pass.allowed) throw new GatewayError("DESTINATION_BLOCKED");
  if (hit && !hit.allowed) throw GatewayError.rateLimited({ policy: phoneSend, decision: hit });
  throw budgetExhausted(reservation!.denied!.decision);
}

/** Takes the phone's event back only if this check recorded it: a retried key's earlier send stays counted. */
async function unhit(store: OtpStore, mobile: MobileNumber, event: string, decision: RateDecision): Promise<void> {
  if (decision.recorded) await store.unhit(mobile.e164, "send", event).catch(() => undefined);
}
