import type { OtpStore } from "../../adapters/store/interface";
import { GatewayError } from "../../errors";
import type { MobileNumber } from "../../lib/phone";
import type { RatePolicy } from "../../lib/rate-policy";
import type { RateDecision } from "../../lib/rate-window";
import type { PumpingGuard, PumpPass } from "./pumping-guard";
import { budgetExhausted, type Reservation, type SpendGuard } from "./spend";

/** What passed before a send: the phone windows' decision, the budgets held and the pumping count for it. */
export interface Admitted {
  decision: RateDecision;
  reservation: Reservation;
  pumping: PumpPass;
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
  const [hit, held, pump] = await Promise.allSettled([
    store.hit(mobile.e164, "send", phoneSend, event),
    spend.reserve(mobile.country),
    pumping.check(mobile),
  ]);
  const allowed = hit.status === "fulfilled" && hit.value.allowed;
  const reserved = held.status === "fulfilled" && !held.value.denied;
  const passed = pump.status === "fulfilled" && pump.value.allowed;
  if (allowed && reserved && passed) return { decision: hit.value, reservation: held.value, pumping: pump.value };
  await Promise.all([
    allowed ? store.unhit(mobile.e164, "send", event).catch(() => undefined) : undefined,
    reserved ? held.value.refund() : undefined,
    pump.status === "fulfilled" ? pump.value.undo() : undefined,
  ]);
  for (const result of [hit, held, pump]) if (result.status === "rejected") throw result.reason;
  if (pump.status === "fulfilled" && !pump.value.allowed) throw new GatewayError("DESTINATION_BLOCKED");
  if (hit.status === "fulfilled" && !hit.value.allowed)
    throw GatewayError.rateLimited({ policy: phoneSend, decision: hit.value });
  throw budgetExhausted((held as PromiseFulfilledResult<Reservation>).value.denied!.decision);
}
