import type { TicketData } from "../../src/adapters/store/admission";
import type {
  Admission,
  KeyClaim,
  OtpStore,
  PumpCheck,
  SendTicket,
  SentCode,
} from "../../src/adapters/store/port";
import type { VerificationRef } from "../../src/domain/ids";
import type { PumpingPolicy, PumpVerdict } from "../../src/domain/pumping";
import { type RatePolicy, ratePolicy } from "../../src/domain/rate-policy";
import type { RateDecision } from "../../src/domain/rate-window";
import type { BudgetDecision, SendBudget } from "../../src/domain/send-budget";
import { limitsOf } from "./given";

/**
 * One step of a store at a time, through its port: what a single check does to
 * the state the store shares, for the store behaviour suite. Each helper admits a
 * send that asks only the part under test (the phone's windows, one budget, one
 * block's verdict, one key), and hands back the ticket to take it back with.
 */

/** Phone windows wide enough never to refuse, so a send's admission is the part under test alone. */
export const WIDE: RatePolicy = ratePolicy("phone", limitsOf("10000/1m"));

let phones = 0;
/** A number of its own for a send that only carries another check (a budget's). */
const carrier = () =>
  `+9170${String(process.pid % 1000).padStart(3, "0")}${String(phones++ % 100_000).padStart(5, "0")}`;

/** `value` with the ticket of the send it came from, kept out of equality checks. */
function withTicket<T extends object>(value: T, ticket: SendTicket | undefined): T & { ticket?: SendTicket } {
  return Object.defineProperty(value, "ticket", { value: ticket, enumerable: false });
}

/** One event against a phone's send windows, recorded when every window allows: their decision. */
export async function sendEvent(store: OtpStore, phone: string, window: RatePolicy, event: string) {
  const admission = await store.admit({ kind: "sms", phone, event, window, budgets: [] });
  if (admission.kind === "limited") return withTicket({ ...admission.decision }, undefined);
  if (admission.kind !== "admitted" || !admission.decision) {
    throw new Error(`unexpected admission: ${admission.kind}`);
  }
  return withTicket({ ...admission.decision }, admission.ticket) as RateDecision & { ticket?: SendTicket };
}

/** One send against a budget, counted when every window allows: its decision. The send goes to `phone`, or a number of its own. */
export async function reserve(
  store: OtpStore,
  budget: SendBudget,
  phone = carrier(),
): Promise<BudgetDecision & { ticket?: SendTicket }> {
  const admission = await store.admit({
    kind: "sms",
    phone,
    event: crypto.randomUUID(),
    window: WIDE,
    budgets: [budget],
  });
  const decision = budgetsOf(admission)[0];
  if (!decision) throw new Error(`no budget decision: ${admission.kind}`);
  return withTicket({ ...decision }, admission.kind === "admitted" ? admission.ticket : undefined);
}

export function budgetsOf(admission: Admission): readonly BudgetDecision[] {
  if (admission.kind === "over_budget") return admission.budgets;
  if (admission.kind === "admitted") return admission.budgets ?? [];
  return [];
}

/** The guard's verdict, whatever the admission came to (undefined when it was not asked). */
export function verdictOf(admission: Admission): PumpVerdict | undefined {
  if (admission.kind === "blocked") return admission.verdict;
  if (admission.kind === "admitted" || admission.kind === "over_budget") return admission.verdict;
  return undefined;
}

/** The pumping guard's verdict on `prefix` for one send to `phone`, through the store's admission step. */
export async function judgePrefix(
  store: OtpStore,
  prefix: string,
  phone: string,
  policy: PumpingPolicy,
): Promise<PumpVerdict & { ticket?: SendTicket }> {
  const admission = await store.admit({
    kind: "sms",
    phone,
    event: crypto.randomUUID(),
    window: WIDE,
    pump: { prefix, policy },
    budgets: [],
  });
  const verdict = verdictOf(admission);
  if (!verdict) throw new Error("the phone windows refused: the prefix was not asked");
  return withTicket({ ...verdict }, admission.kind === "admitted" ? admission.ticket : undefined);
}

/** A key's claim as the service makes it: three retries, remembered for a minute once released. */
export const keyClaim = (key: string, pendingMs: number, retries = 3): KeyClaim => ({
  key,
  pendingMs,
  retries,
  keepMs: 60_000,
});

/** What a claim of an Idempotency-Key finds, as a test number's send claims it. */
export type KeyClaimState =
  | { state: "new" }
  | { state: "pending" }
  | { state: "conflict" }
  | { state: "done"; answer: string };

export async function claimKey(
  store: OtpStore,
  key: string,
  phone: string,
  pendingMs: number,
): Promise<KeyClaimState> {
  const admission = await store.admit({ kind: "test", phone, key: keyClaim(key, pendingMs) });
  if (admission.kind === "replay") return { state: "done", answer: admission.answer };
  if (admission.kind === "in_progress") return { state: "pending" };
  if (admission.kind === "conflict") return { state: "conflict" };
  if (admission.kind !== "admitted") throw new Error(`unexpected admission: ${admission.kind}`);
  return { state: "new" };
}

/** The ticket `phone`'s send with `key` holds (what its admission handed out). */
export const keyTicket = (phone: string, key: string): SendTicket =>
  ({ phone, receipts: [], key }) satisfies TicketData as unknown as SendTicket;

/** Completes `phone`'s send with `key`: its verification record (`id`, or a fresh one) and the key's answer. */
/**
 * What a send recorded, as the service records it: its code living `ttlMs` from now with 3 attempts,
 * sent with no caller key, and forgotten with its code (`keepMs` 0) unless `more` says otherwise.
 */
export function sentCode(id: VerificationRef, ttlMs: number, more: Partial<SentCode> = {}): SentCode {
  const now = Date.now();
  return {
    id,
    ttlMs,
    keepMs: 0,
    sentAtMs: now,
    expiresAtMs: now + ttlMs,
    attempts: 3,
    caller: "",
    answer: "",
    answerTtlMs: 0,
    ...more,
  };
}

export async function completeKey(
  store: OtpStore,
  key: string,
  phone: string,
  answer: string,
  ttlMs: number,
  id?: VerificationRef,
): Promise<void> {
  const record = id ?? { tag: await store.phoneTag(phone), inner: `otp_${crypto.randomUUID()}` };
  await store.record(keyTicket(phone, key), sentCode(record, 60_000, { answer, answerTtlMs: ttlMs }));
}

/** Takes back what the send behind `result` counted (the store's `cancel`): it did not go out. */
export async function takeBack(store: OtpStore, result: { ticket?: SendTicket }): Promise<void> {
  if (!result.ticket) throw new Error("nothing to take back: the send was not admitted");
  await store.cancel(result.ticket);
}

/** A verification record of `phone` under `id`, as a send leaves it (the store's `record`). */
export async function saveRecord(
  store: OtpStore,
  id: VerificationRef,
  phone: string,
  ttlMs: number,
  more: Partial<SentCode> = {},
): Promise<void> {
  const ticket = { phone, receipts: [] } satisfies TicketData as unknown as SendTicket;
  await store.record(ticket, sentCode(id, ttlMs, more));
}

/** A send asked of the store with the checks given, as the service asks it. */
export function admitTo(
  store: OtpStore,
  phone: string,
  window: RatePolicy,
  event: string,
  checks: { pump?: PumpCheck; budgets?: readonly SendBudget[]; key?: KeyClaim } = {},
): Promise<Admission> {
  return store.admit({
    kind: "sms",
    phone,
    event,
    window,
    pump: checks.pump,
    budgets: checks.budgets ?? [],
    key: checks.key,
  });
}

let blockNumbers = 0;
/** A number of `prefix`'s block (its last `dropDigits` digits rotating). */
export const numberIn = (prefix: string, policy: PumpingPolicy) =>
  prefix + String(blockNumbers++ % 10 ** policy.dropDigits).padStart(policy.dropDigits, "0");

/**
 * A send to a number of `prefix`'s block that goes out, as the guard counts it: admitted through
 * the store's step (judged first, so it may come back refused: then nothing is counted).
 */
export async function countSent(store: OtpStore, prefix: string, policy: PumpingPolicy): Promise<Admission> {
  return store.admit({
    kind: "sms",
    phone: numberIn(prefix, policy),
    event: crypto.randomUUID(),
    window: WIDE,
    pump: { prefix, policy },
    budgets: [],
  });
}

/** A code verified for a number of `prefix`'s block, as the guard counts it. */
export function countVerified(store: OtpStore, prefix: string, policy: PumpingPolicy): Promise<void> {
  return store.countVerified({ phone: numberIn(prefix, policy), pump: { prefix, policy } });
}
