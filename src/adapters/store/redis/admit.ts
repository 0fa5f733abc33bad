import { type PrefixLayout, pumpArgsFor, tagDigits } from "../../../domain/number-ranges";
import type { PumpingPolicy, PumpVerdict } from "../../../domain/pumping";
import type { RatePolicy } from "../../../domain/rate-policy";
import type { BudgetDecision, SendBudget } from "../../../domain/send-budget";
import type { Admission, AdmitChecks } from "../port";
import type { ScriptedRedis } from "./client";
import { BLOCKS_KEY, budgetKey, idempotencyKey, pumpKeys, sendsKey } from "./keys";
import { budgetReply, packed, windowDecision } from "./replies";

/** What admitSend needs of the store: its client, its failure mapping, and its key layout. */
export interface AdmitContext {
  redis: ScriptedRedis;
  call<T>(command: () => Promise<T>): Promise<T>;
  /** How phones' keys are tagged and prefixes make ranges. */
  layout: PrefixLayout;
  /** On a Cluster the budgets live on slots of their own: checked beside the admission step. */
  cluster: boolean;
}

const PUMP_STATES = ["clear", "blocked", "newly_blocked"] as const;

/**
 * `admitSend` on Redis: one script (ADMIT_LUA) on one server. On a Cluster the
 * budgets are reserved beside it, in the same round trip, and whatever one part
 * counted is taken back when another refuses: the same all-or-nothing outcome.
 */
export async function admitOnRedis(
  ctx: AdmitContext,
  phone: string,
  policy: RatePolicy,
  member: string,
  checks: AdmitChecks,
): Promise<Admission> {
  const budgets = checks.budgets ?? [];
  const inScript = ctx.cluster ? [] : budgets;
  const args = admitArgs(ctx.layout, phone, policy, member, checks, inScript);
  // The phone, its block and range, and `*` and its country's budget at most: 2 to 5 keys.
  const command = (["otpAdmit2", "otpAdmit3", "otpAdmit4", "otpAdmit5", "otpAdmit6"] as const)[args.keys - 2];
  if (!command) throw new Error("a send draws on two budgets at most");
  const step = ctx.call(() => ctx.redis[command](...args.list));
  if (inScript.length === budgets.length) return parse(ctx, policy, checks, inScript, await step);
  const reserving = Promise.allSettled(
    budgets.map((b) => ctx.call(() => ctx.redis.otpBudget(budgetKey(b.scope), 1, ...b.scriptArgs))),
  );
  const refund = (held: PromiseSettledResult<Parameters<typeof budgetReply>[0]>[]) =>
    Promise.all(
      held.map((r, k) => {
        const d = r.status === "fulfilled" ? budgetReply(r.value) : undefined;
        return d?.allowed
          ? ctx.call(() => ctx.redis.otpRefundBudget(budgetKey(budgets[k]!.scope), ...d.receipt.split(",")))
          : undefined;
      }),
    ).catch(() => undefined);
  const [main] = await Promise.allSettled([step]);
  if (main.status === "fulfilled" && isClaimedBefore(main.value)) {
    // A key claimed before (a replay, a duplicate in flight): answered by the phone's step alone,
    // never held up or failed by the budgets beside it, which are given back when they answer.
    reserving.then(refund);
    return parse(ctx, policy, checks, [], main.value);
  }
  const held = await reserving;
  const decisions = held.map((r) => (r.status === "fulfilled" ? budgetReply(r.value) : undefined));
  if (main.status === "rejected") {
    await refund(held);
    throw main.reason;
  }
  const admission = await parse(ctx, policy, checks, [], main.value);
  const failed = held.find((r) => r.status === "rejected");
  const asked = admission.decision.recorded;
  if (!asked || failed || decisions.some((d) => !d!.allowed)) {
    // Refused before the budgets (or a retry): nothing of theirs stays. A budget refused or failed: nothing of the rest.
    await refund(held);
    if (asked) await undoAdmission(ctx, phone, member, checks, admission);
    if (failed) throw failed.reason;
    if (!asked) return admission;
    return { ...admission, decision: { ...admission.decision, recorded: false }, budgets: decisions as BudgetDecision[] };
  }
  return { ...admission, budgets: decisions as BudgetDecision[] };
}

/** ADMIT_LUA's claim field (13th): a key claimed before, so nothing else was asked. */
const isClaimedBefore = (reply: (number | string)[]) => reply[12] !== "" && reply[12] !== "new";

/** ADMIT_LUA's keys and arguments for one send, and how many of them are keys. */
function admitArgs(
  layout: PrefixLayout,
  phone: string,
  policy: RatePolicy,
  member: string,
  checks: AdmitChecks,
  budgets: readonly SendBudget[],
): { keys: number; list: string[] } {
  const { pump, claim } = checks;
  const events = sendsKey(phone, tagDigits(layout));
  const [block, range] = pump ? pumpKeys(pump.prefix, layout) : [events];
  const args = pump && pumpArgsFor(pump.policy);
  const keys = [events, block!];
  if (range) keys.push(range);
  for (const b of budgets) keys.push(budgetKey(b.scope));
  if (claim) keys.push(idempotencyKey(claim.key, phone, tagDigits(layout)));
  const list = [
    ...keys,
    member,
    packed(policy),
    pump?.policy.mode ?? "off",
    phone,
    args ? args.block : "",
    args && range ? args.range : "",
    claim ? String(claim.pendingMs) : "",
  ];
  for (const b of budgets) list.push(packed(b));
  return { keys: keys.length, list };
}

async function parse(
  ctx: AdmitContext,
  policy: RatePolicy,
  checks: AdmitChecks,
  budgets: readonly SendBudget[],
  reply: (number | string)[],
): Promise<Admission> {
  const decision = windowDecision(policy, reply as number[]);
  const [state, remainingMs, strikes, bucket, asked, wide] = reply.slice(6, 12) as number[];
  const admission: Admission = { decision };
  const [claimed, answer] = reply.slice(12, 14) as [string, string];
  if (claimed === "done") admission.claim = { state: "done", answer };
  else if (claimed) admission.claim = { state: claimed as "new" | "pending" | "conflict" };
  // state -1: the windows refused, or the guard is off.
  if (checks.pump && state! >= 0)
    admission.pump = await verdict(ctx, checks.pump, wide === 1, state!, remainingMs!, strikes!, bucket!);
  if (asked! > 0) {
    admission.budgets = [];
    let at = 14;
    for (const b of budgets) {
      const size = 5 + b.windows.length;
      admission.budgets.push(budgetReply(reply.slice(at, at + size) as Parameters<typeof budgetReply>[0]));
      at += size;
    }
  }
  return admission;
}

async function verdict(ctx: AdmitContext, pump: { prefix: string; policy: PumpingPolicy }, wide: boolean, ...raw: number[]) {
  const [state, remainingMs, strikes, bucket] = raw as [number, number, number, number];
  const v: PumpVerdict = { state: PUMP_STATES[state] ?? "clear", remainingMs, strikes };
  if (bucket >= 0) v.counted = bucket;
  if (wide) v.range = true;
  if (v.state === "newly_blocked") {
    // The operators' list of blocks, on its own slot: written only when a block starts. The
    // block itself is in the prefix's hash already; a failed write here (counted) must not
    // turn the decision made into a store failure.
    const [block, range] = pumpKeys(pump.prefix, ctx.layout);
    const key = wide ? range! : block;
    await ctx
      .call(() => ctx.redis.zadd(BLOCKS_KEY, Date.now() + remainingMs, key))
      .then(() => ctx.call(() => ctx.redis.pexpire(BLOCKS_KEY, pump.policy.blockMaxMs)))
      .catch(() => undefined);
  }
  return v;
}

/** Takes back what a Cluster's admission step recorded (the key's claim too), when a budget beside it refused. */
async function undoAdmission(ctx: AdmitContext, phone: string, member: string, checks: AdmitChecks, admission: Admission) {
  const counted = admission.pump?.counted;
  const { claim } = checks;
  await Promise.all([
    ctx.call(() => ctx.redis.zrem(sendsKey(phone, tagDigits(ctx.layout)), member)),
    claim && admission.claim?.state === "new"
      ? ctx.call(() => ctx.redis.otpReleaseIdempotency(idempotencyKey(claim.key, phone, tagDigits(ctx.layout)), phone, 0))
      : undefined,
    ...(checks.pump && counted !== undefined ? pumpKeys(checks.pump.prefix, ctx.layout) : []).map((key) =>
      key ? ctx.call(() => ctx.redis.otpRefundBudget(key, `s:${counted}`)) : undefined,
    ),
  ]).catch(() => undefined);
  if (admission.pump) delete admission.pump.counted;
  delete admission.claim;
}
