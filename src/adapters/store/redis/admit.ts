import { type PrefixLayout, pumpArgsFor, tagDigits } from "../../../domain/number-ranges";
import { type GuardRule, numberPrefix, type PumpVerdict } from "../../../domain/pumping";
import { generationOf, generationTtlMs, provenIndex } from "../../../domain/returning";
import {
  type BudgetDecision,
  openLimit,
  type SendBudget,
  shortestWindowMs,
} from "../../../domain/send-budget";
import { admitted, type KeyTaken, keyTaken, pumpedCount, type TicketData } from "../admission";
import type { Admission, PumpCheck, SendRequest, SendTicket } from "../port";
import type { ScriptedRedis } from "./client";
import type { RedisIdempotency } from "./idempotency";
import { BLOCKS_KEY, budgetKey, idempotencyKey, provenKey, pumpKeys, sendsKey } from "./keys";
import {
  ADMIT_REPLY,
  admitValues,
  BUDGET_REPLY,
  budgetDecision,
  HIT_REPLY,
  packed,
  windowDecision,
} from "./replies";

type Reply = (number | string)[];
type SmsRequest = Extract<SendRequest, { kind: "sms" }>;

/** What the admission needs of the store: its client, its failure mapping, its key layout and its keys' bindings. */
export interface AdmitContext {
  redis: ScriptedRedis;
  call<T>(command: () => Promise<T>): Promise<T>;
  /** How phones' keys are tagged and blocks make ranges. */
  layout: PrefixLayout;
  /** On a Cluster the budgets live on slots of their own: reserved beside the admission step. */
  cluster: boolean;
  idempotency: RedisIdempotency;
  /** Takes back what an admission counted (the store's `cancel`). */
  cancel(ticket: SendTicket): Promise<void>;
  /** Frees what an admission claimed, keeping its counts (the store's `release`). */
  release(ticket: SendTicket): Promise<void>;
  /** A block's or range's hash (by key name) reached a bound on unproven sends: for the operators' list. */
  noteBounded(key: string, windowMs: number): void;
}

const PUMP_STATES = ["clear", "blocked", "newly_blocked"] as const;

/**
 * `admit` on Redis. A send's claim of its Idempotency-Key lives under its phone's tag, so that
 * the key is claimed in the same step as the send's checks; its binding to one phone (which
 * finds a phone of another range holding the key) lives on the key's own slot, and is asked
 * beside that step, in the same round trip. A request that kept no claim takes back a binding
 * it made; a send admitted for a key another phone holds is taken back and is a conflict.
 */
export async function admitOnRedis(ctx: AdmitContext, request: SendRequest): Promise<Admission> {
  const { phone, key } = request;
  const step = request.kind === "test" ? () => claimTestKey(ctx, request) : () => admitSms(ctx, request);
  if (!key) return step();
  const owning = ctx.idempotency.own(key.key, phone, key.pendingMs);
  owning.catch(() => undefined); // awaited below, whatever the step does first
  let admission: Admission;
  try {
    admission = await step();
  } catch (err) {
    await unbindOwn(ctx, owning, key.key, phone);
    throw err;
  }
  // A claim in progress or answered for this phone: the binding is right, whoever made it.
  if (admission.kind === "replay" || admission.kind === "in_progress") return admission;
  if (admission.kind !== "admitted") {
    await unbindOwn(ctx, owning, key.key, phone);
    return admission;
  }
  let owner: "new" | "same" | "other";
  try {
    owner = await owning;
  } catch (err) {
    await ctx.cancel(admission.ticket).catch(() => undefined);
    throw err;
  }
  if (owner !== "other") return admission;
  await ctx.cancel(admission.ticket).catch(() => undefined);
  return { kind: "conflict" };
}

/** A binding this request made (`new`) names its phone for no claim: it would turn the key's own send away. */
async function unbindOwn(
  ctx: AdmitContext,
  owning: Promise<string>,
  key: string,
  phone: string,
): Promise<void> {
  if ((await owning.catch(() => undefined)) === "new") {
    await ctx.idempotency.unbind(key, phone).catch(() => undefined);
  }
}

async function claimTestKey(
  ctx: AdmitContext,
  request: Extract<SendRequest, { kind: "test" }>,
): Promise<Admission> {
  const { phone, key } = request;
  const taken = key && (await ctx.idempotency.claim(key.key, phone, key.pendingMs));
  if (taken) return keyTaken(taken);
  return admitted({ phone, receipts: [], key: key?.key });
}

/**
 * A real SMS's checks: admit.lua on one server. On a Cluster the budgets are reserved beside
 * it, in the same round trip, and whatever one part counted is taken back when another
 * refuses: the same all-or-nothing outcome. With nothing but the phone's windows to ask,
 * hit.lua does (a cheaper script).
 */
async function admitSms(ctx: AdmitContext, request: SmsRequest): Promise<Admission> {
  if (!request.key && !request.pump && request.budgets.length === 0) return hitOnly(ctx, request);
  const budgets = ctx.cluster ? [] : request.budgets;
  const args = admitArgs(ctx.layout, request, budgets);
  const commands = [
    "otpAdmit2",
    "otpAdmit3",
    "otpAdmit4",
    "otpAdmit5",
    "otpAdmit6",
    "otpAdmit7",
    "otpAdmit8",
    "otpAdmit9",
  ] as const;
  const command = commands[args.keys - 2];
  if (!command) throw new Error("a send draws on two budgets at most");
  const step = ctx.call(() => ctx.redis[command](...args.list)).then(admitValues);
  if (budgets.length === request.budgets.length) return read(ctx, request, await step);
  return withBudgetsBeside(ctx, request, step);
}

async function hitOnly(ctx: AdmitContext, request: SmsRequest): Promise<Admission> {
  const { phone, event, window } = request;
  const reply = await ctx.call(() =>
    ctx.redis.otpHit(sendsKey(phone, tagDigits(ctx.layout)), event, packed(window)),
  );
  const recorded = reply[HIT_REPLY.recorded] === 1;
  const decision = windowDecision(window, reply, 0, recorded);
  if (!decision.allowed) return { kind: "limited", decision };
  return admitted({ phone, event: recorded ? event : undefined, receipts: [] }, { decision });
}

/** The generations of proven bits a send asks: now's, the one before, and the one after (clocks may straddle). */
const PROVEN_GENERATIONS = [0, -1, 1];

/** admit.lua's keys and arguments for one send, and how many of them are keys. */
function admitArgs(
  layout: PrefixLayout,
  request: SmsRequest,
  budgets: readonly SendBudget[],
): { keys: number; list: string[] } {
  const { phone, event, window, pump, key, returning } = request;
  const events = sendsKey(phone, tagDigits(layout));
  const [block, range] = pump ? pumpKeys(pump.prefix, layout) : [events];
  const policies = pump && pumpArgsFor(pump.policy);
  const proven = provenKeys(layout, request);
  const keys = [
    events,
    block,
    ...(range ? [range] : []),
    ...proven,
    ...budgets.map((b) => budgetKey(b.scope)),
  ];
  if (key) keys.push(idempotencyKey(key.key, phone, tagDigits(layout)));
  const list = [
    ...keys,
    [range ? 1 : 0, proven.length, budgets.length, key ? 1 : 0].join(","),
    event,
    packed(window),
    pump?.policy.mode ?? "off",
    phone,
    policies?.block ?? "",
    (range && policies?.range) || "",
    boundsArg(pump),
    returning ? `${provenIndex(phone, layout.dropDigits)},${generationTtlMs(returning)}` : "",
    key ? `${key.pendingMs},${key.retries}` : "",
    rechargeArg(request.budgets),
    ...budgets.map(packed),
  ];
  return { keys: keys.length, list };
}

/** The keys of the number's proven bits a send asks (none without returning users). */
function provenKeys(layout: PrefixLayout, { phone, returning }: SmsRequest): string[] {
  if (!returning) return [];
  // One key name per generation: the block's, then each generation's number.
  const base = provenKey(numberPrefix(phone, layout.dropDigits), layout, 0).slice(0, -1);
  const generation = generationOf(Date.now(), returning);
  return PROVEN_GENERATIONS.map((g) => `${base}${generation + g}`);
}

/** admit.lua's rechargeMs: the shortest window of a send's budgets, all of them ('' for none). */
const rechargeArg = (budgets: readonly SendBudget[]) => String(shortestWindowMs(budgets) ?? "");

/** admit.lua's bounds argument: the bounds on unproven sends, comma-joined ('' for none). */
const boundsArg = (pump: PumpCheck | undefined) => {
  const bounds = pump?.bounds;
  return bounds ? [bounds.block, bounds.range, bounds.windowMs, bounds.bucketMs].join(",") : "";
};

const GUARD_RULES = ["block-unproven", "range-unproven"] as const;

/** admit.lua's reply as an Admission; `budgets`: those the script asked (none on a Cluster). */
async function read(
  ctx: AdmitContext,
  request: SmsRequest,
  reply: Reply,
  budgets = ctx.cluster ? [] : request.budgets,
): Promise<Admission> {
  const taken = claimedBefore(reply);
  if (taken) return keyTaken(taken);
  const recorded = Number(reply[ADMIT_REPLY.recorded]) === 1;
  const decision = windowDecision(request.window, reply, ADMIT_REPLY.allowed, recorded);
  if (!decision.allowed) return { kind: "limited", decision };
  const proven = Number(reply[ADMIT_REPLY.proven]) === 1;
  const verdict = request.pump && (await pumpVerdict(ctx, request.pump, reply));
  const rule = guardRule(ctx, request.pump, verdict, reply);
  const mode = proven ? "off" : request.pump?.policy.mode;
  if (rule && mode === "enforce" && verdict) return { kind: "blocked", rule, verdict };
  const decisions = budgetsOf(reply, budgets);
  if (decisions.some((d) => !d.allowed)) {
    return { kind: "over_budget", budgets: decisions, proven, ...(verdict ? { verdict } : {}) };
  }
  const ticket = ticketOf(request, reply, budgets, decisions, verdict);
  const monitored = mode === "monitor" ? rule : undefined;
  const charged = recorded || Number(reply[ADMIT_REPLY.recharged]) === 1;
  return admitted(ticket, {
    decision,
    verdict,
    budgets: charged ? decisions : undefined,
    proven,
    monitored,
    recharged: !recorded && charged,
  });
}

/** What an admitted send counted and claimed, from admit.lua's reply. */
function ticketOf(
  request: SmsRequest,
  reply: Reply,
  budgets: readonly SendBudget[],
  decisions: readonly BudgetDecision[],
  verdict: PumpVerdict | undefined,
): TicketData {
  const recorded = Number(reply[ADMIT_REPLY.recorded]) === 1;
  const charged = recorded || Number(reply[ADMIT_REPLY.recharged]) === 1;
  const bucket = Number(reply[ADMIT_REPLY.unprovenBucket]);
  const claimed = reply[ADMIT_REPLY.claimState] === "new" ? request.key : undefined;
  return {
    phone: request.phone,
    event: recorded ? request.event : undefined,
    receipts: charged ? budgets.map((budget, i) => ({ budget, receipt: decisions[i]?.receipt ?? "" })) : [],
    pumped: pumpedCount(request.pump?.prefix, verdict),
    unproven: request.pump && bucket >= 0 ? { prefix: request.pump.prefix, bucket } : undefined,
    key: claimed?.key,
    keyKeepMs: claimed?.keepMs,
    retry: recorded ? undefined : true,
  };
}

/**
 * The rule of the guard that refuses (or would, in monitor mode): a block, a range, or a bound on
 * unproven sends (the block or range at its bound noted in the operators' list).
 */
function guardRule(
  ctx: AdmitContext,
  pump: PumpCheck | undefined,
  verdict: PumpVerdict | undefined,
  reply: Reply,
): GuardRule | undefined {
  if (verdict && verdict.state !== "clear") return verdict.range ? "range" : "block";
  const rule = GUARD_RULES.find((r) => r === reply[ADMIT_REPLY.rule]);
  if (rule && pump?.bounds) {
    const [block, range] = pumpKeys(pump.prefix, ctx.layout);
    ctx.noteBounded(rule === "range-unproven" && range ? range : block, pump.bounds.windowMs);
  }
  return rule;
}

/** admit.lua's claim: a key claimed before (so that nothing else was asked), or undefined. */
function claimedBefore(reply: Reply): KeyTaken | undefined {
  const state = reply[ADMIT_REPLY.claimState];
  if (state === "done") return { state, answer: String(reply[ADMIT_REPLY.claimAnswer]) };
  if (state === "pending" || state === "conflict" || state === "spent") return { state };
  return undefined;
}

function budgetsOf(reply: Reply, budgets: readonly SendBudget[]): BudgetDecision[] {
  if (Number(reply[ADMIT_REPLY.budgetsAsked]) === 0) return [];
  const decisions: BudgetDecision[] = [];
  let at: number = ADMIT_REPLY.budgets;
  for (const budget of budgets) {
    decisions.push(budgetDecision(reply, at, budget.windows.length));
    at += BUDGET_REPLY.used + budget.windows.length;
  }
  return decisions;
}

async function pumpVerdict(
  ctx: AdmitContext,
  pump: PumpCheck,
  reply: Reply,
): Promise<PumpVerdict | undefined> {
  const state = Number(reply[ADMIT_REPLY.pumpState]);
  // -1: the guard is off.
  if (state < 0) return undefined;
  const bucket = Number(reply[ADMIT_REPLY.pumpBucket]);
  const wide = Number(reply[ADMIT_REPLY.rangeVerdict]) === 1;
  const verdict: PumpVerdict = {
    state: PUMP_STATES[state] ?? "clear",
    remainingMs: Number(reply[ADMIT_REPLY.pumpRemainingMs]),
    strikes: Number(reply[ADMIT_REPLY.pumpStrikes]),
  };
  if (bucket >= 0) verdict.counted = bucket;
  if (wide) verdict.range = true;
  if (verdict.state === "newly_blocked") {
    // The operators' list of blocks, on its own slot: written only when a block starts. The
    // block itself is in the prefix's hash already; a failed write here (counted) must not
    // turn the decision made into a store failure.
    const [block, range] = pumpKeys(pump.prefix, ctx.layout);
    const key = wide && range ? range : block;
    await ctx
      .call(() => ctx.redis.zadd(BLOCKS_KEY, Date.now() + verdict.remainingMs, key))
      .then(() => ctx.call(() => ctx.redis.pexpire(BLOCKS_KEY, pump.policy.blockMaxMs)))
      .catch(() => undefined);
  }
  return verdict;
}

/**
 * A Cluster's admission: the budgets reserved on their own slots beside the phone's step. A key
 * claimed before is answered by the phone's step alone (never held up or failed by the budgets,
 * which are given back when they answer); a step that refuses, or a budget that refuses or fails,
 * leaves nothing of the other counted. Whether the number is proven is known only from the phone's
 * step: the budgets are reserved up to their whole limit, and a send that turns out not proven is
 * refused (and given back) when it went past a budget's open share.
 */
async function withBudgetsBeside(
  ctx: AdmitContext,
  request: SmsRequest,
  step: Promise<Reply>,
): Promise<Admission> {
  const { budgets } = request;
  const reserving = Promise.allSettled(
    budgets.map((b) => ctx.call(() => ctx.redis.otpBudget(budgetKey(b.scope), 1, 1, packed(b)))),
  );
  const refund = (held: PromiseSettledResult<Reply>[]) =>
    Promise.all(
      held.map((result, k) => {
        const decision = result.status === "fulfilled" ? budgetDecision(result.value) : undefined;
        const scope = budgets[k]?.scope;
        return decision?.allowed && scope
          ? ctx.call(() => ctx.redis.otpTakeBack(budgetKey(scope), ...decision.receipt.split(",")))
          : undefined;
      }),
    ).catch(() => undefined);
  const [main] = await Promise.allSettled([step]);
  if (main.status === "fulfilled" && claimedBefore(main.value)) {
    void reserving.then(refund);
    return read(ctx, request, main.value, []);
  }
  const held = await reserving;
  if (main.status === "rejected") {
    await refund(held);
    throw main.reason;
  }
  const admission = await read(ctx, request, main.value, []);
  const failed = held.find((r) => r.status === "rejected");
  const proven = admission.kind === "admitted" && admission.proven;
  const decisions = held.map((r, k) => {
    const decision = r.status === "fulfilled" ? budgetDecision(r.value) : undefined;
    const budget = budgets[k];
    return decision && budget && !proven ? withinOpenShare(budget, decision) : decision;
  });
  // A retry charged again keeps its reservations as a new send does.
  const counted = admission.kind === "admitted" && (!admission.retry || admission.recharged === true);
  if (counted && !failed && decisions.every((d) => d?.allowed)) {
    const data = { ...(admission.ticket as unknown as TicketData) };
    data.receipts = budgets.map((budget, i) => ({ budget, receipt: decisions[i]?.receipt ?? "" }));
    return admitted(data, { ...admission, budgets: decisions as BudgetDecision[] });
  }
  // Refused before the budgets (or a retry): nothing of theirs stays. A budget refused or failed: nothing of the rest.
  await refund(held);
  if (!counted) {
    if (failed) throw failed.reason;
    return admission;
  }
  // A retry keeps its event and its key's retries: released, not taken back.
  await (admission.retry ? ctx.release(admission.ticket) : ctx.cancel(admission.ticket)).catch(
    () => undefined,
  );
  if (failed) throw failed.reason;
  // The check's count was taken back with the rest.
  const verdict = admission.verdict && { ...admission.verdict, counted: undefined };
  return {
    kind: "over_budget",
    budgets: decisions as BudgetDecision[],
    proven,
    ...(verdict ? { verdict } : {}),
  };
}

/**
 * A decision reserved up to the whole limit, for a send that is not proven: refused when this send
 * went past a window's open share (it waits at least a bucket for room).
 */
function withinOpenShare(budget: SendBudget, decision: BudgetDecision): BudgetDecision {
  if (!decision.allowed) return decision;
  const past = budget.windows.findIndex(
    (w, k) => (decision.used[k] ?? 0) > openLimit(w.limit, budget.reserve),
  );
  const window = budget.windows[past];
  if (!window) return decision;
  return { ...decision, allowed: false, index: past, remaining: 0, waitMs: window.bucketMs };
}
