import { randomBytes } from "node:crypto";
import type { LRUCache } from "lru-cache";
import { phoneTag, type VerificationRef, verificationId } from "../../../domain/ids";
import { DEFAULT_LAYOUT, type PrefixLayout, rangeOf } from "../../../domain/number-ranges";
import type { GuardRule, PumpVerdict, UnprovenBounds } from "../../../domain/pumping";
import type { RatePolicy } from "../../../domain/rate-policy";
import { type BudgetDecision, type SendBudget, shortestWindowMs } from "../../../domain/send-budget";
import {
  type CancelResult,
  type DeliveryStatus,
  deliveryRank,
  statusOf,
  type VerificationState,
} from "../../../domain/verification-status";
import { boundedLru } from "../../../lib/lru";
import { admitted, fromTicket, keyTaken, type TicketData } from "../admission";
import type {
  Admission,
  BoundedPrefix,
  GuardBlock,
  OtpStore,
  SafeEntry,
  SendRequest,
  SendTicket,
  SentCode,
  VerifiedCode,
  VerifyStart,
} from "../port";
import { MemoryBudgets } from "./budgets";
import { MemoryIdempotency } from "./idempotency";
import { MemoryPumping } from "./pumping";
import { MemoryReturning } from "./returning";
import { MemoryWindows } from "./windows";

export interface MemoryStoreOptions {
  /** Entries kept per kind of record; the least recently used go first. Default 100000. */
  maxEntries?: number;
  /** Clock in ms, for tests. Default: monotonic `performance.now`. */
  now?: () => number;
  /** PUMPING_PREFIX_DROP and PUMPING_RANGE_DROP. Default 3 and 5. */
  layout?: PrefixLayout;
}

/** A verification record; `unproven`: the bucket its send is unproven in. */
type Verification = VerificationState & { unproven?: number };
type SmsRequest = Extract<SendRequest, { kind: "sms" }>;
/** The guard's verdict on a send's block and range, whether the block is safe-listed, and the rule that refuses. */
type GuardView = { verdict?: PumpVerdict; safe: boolean; rule?: GuardRule };
/** A send the guard lets through: whether its number is proven, the guard's view, and what monitor mode saw. */
type Judged = { proven: boolean; guard: GuardView; monitored?: GuardRule };
/** The budgets' decisions on a send they allowed, and the receipts to take it back with. */
type Charged = { decisions: BudgetDecision[]; receipts: TicketData["receipts"] };

/**
 * The embedded store for a single process: the same semantics as the Redis
 * store, in bounded LRU maps whose entries expire like the Redis keys do. State
 * is lost on restart and is not shared between processes. One map holds every
 * Idempotency-Key here, so a key's claim is also its binding to one phone.
 */
export class MemoryStore implements OtpStore {
  readonly kind = "memory";
  readonly #now: () => number;
  /** Wall-clock ms, as the gateway's Date.now() that set a verification's expiry. */
  readonly #wall: () => number;
  readonly #windows: MemoryWindows;
  readonly #idempotency: MemoryIdempotency;
  readonly #verifications: LRUCache<string, Verification>;
  readonly #budgets: MemoryBudgets;
  readonly #pumping: MemoryPumping;
  readonly #returning: MemoryReturning;
  readonly #layout: PrefixLayout;
  /** One process, one secret: the tags need agree with no other gateway. */
  readonly #secret = randomBytes(32);

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
    this.#wall = options.now ?? Date.now;
    // Budget buckets are slices of wall-clock time, as in Redis.
    this.#budgets = new MemoryBudgets(options.now ?? Date.now);
    const perf = { now: this.#now };
    this.#windows = new MemoryWindows(max, this.#now);
    this.#idempotency = new MemoryIdempotency(max, this.#now);
    this.#verifications = boundedLru(max, { perf });
    this.#layout = options.layout ?? DEFAULT_LAYOUT;
    this.#pumping = new MemoryPumping(max, this.#now, this.#layout);
    // Generations are slices of wall-clock time, as in Redis.
    this.#returning = new MemoryReturning(max, options.now ?? Date.now, this.#layout.dropDigits);
  }

  phoneTag(phone: string): string {
    return phoneTag(this.#secret, phone);
  }

  async admit(request: SendRequest): Promise<Admission> {
    const { phone, key } = request;
    // A test number's sends are free: its key's retries are not capped.
    const claimed =
      key && this.#idempotency.find(key.key, phone, request.kind === "sms" ? key.retries : undefined);
    if (claimed) return keyTaken(claimed);
    if (request.kind === "test") {
      if (key) this.#idempotency.take(key.key, phone, key.pendingMs);
      return admitted({ phone, receipts: [], key: key?.key });
    }
    return this.#admitSms(request);
  }

  /**
   * As admit.lua: the phone's windows, whether the number is proven, the guard's rules, the
   * budgets, then the counts. The guard's counts are made only once every check has let the send
   * through: Redis counts and takes back, but a count here could push another record out of a
   * full map (there the count also lengthens an existing hash's time to live; here a refused send
   * changes nothing).
   */
  #admitSms(request: SmsRequest): Admission {
    const { phone, event, window, key, budgets } = request;
    const windows = this.#windows.check(`send|${phone}`, window, event);
    const { decision } = windows;
    if (!decision.allowed) return { kind: "limited", decision };
    const retry = !decision.recorded;
    const judged = this.#judge(request);
    if ("kind" in judged) return judged;
    const { guard, proven } = judged;
    const facts = { decision, verdict: guard.verdict, proven, monitored: judged.monitored };
    const claim = () => key && this.#idempotency.take(key.key, phone, key.pendingMs, retry);
    const keyData = key ? { key: key.key, keyKeepMs: key.keepMs } : {};
    // A retry is charged again once its first charge is older than the budgets' shortest window.
    const recharge =
      retry && this.#now() - (windows.countedAt ?? 0) >= (shortestWindowMs(budgets) ?? Infinity);
    if (retry && !recharge) {
      claim();
      return admitted({ phone, receipts: [], retry, ...keyData }, facts);
    }
    const charged = this.#charge(budgets, proven, guard.verdict);
    if ("kind" in charged) return charged;
    claim();
    if (recharge) {
      windows.retime();
      return admitted(
        { phone, ...charged, retry, ...keyData },
        { ...facts, budgets: charged.decisions, recharged: true },
      );
    }
    windows.record();
    const counted = this.#countSend(request, guard, proven);
    const ticket: TicketData = { phone, event, receipts: charged.receipts, ...counted.ticket, ...keyData };
    return admitted(ticket, { ...facts, verdict: counted.verdict, budgets: charged.decisions });
  }

  /** Whether the number is proven, and the guard's verdict: a refusal (enforce), or what monitor mode saw. */
  #judge(request: SmsRequest): Judged | Extract<Admission, { kind: "blocked" }> {
    const proven =
      request.returning !== undefined && this.#returning.isProven(request.phone, request.returning);
    const guard = this.#guard(request, proven);
    const mode = request.pump?.policy.mode;
    if (guard.rule && guard.verdict && !proven && mode === "enforce") {
      return { kind: "blocked", rule: guard.rule, verdict: guard.verdict };
    }
    return { proven, guard, monitored: guard.rule && !proven && mode === "monitor" ? guard.rule : undefined };
  }

  /** The budgets' decisions on one more send, recorded when all allow; else the refusal. */
  #charge(
    budgets: readonly SendBudget[],
    proven: boolean,
    verdict: PumpVerdict | undefined,
  ): Charged | Extract<Admission, { kind: "over_budget" }> {
    const checks = budgets.map((budget) => ({ budget, ...this.#budgets.check(budget, proven) }));
    const decisions = checks.map((c) => c.decision);
    if (!checks.every((c) => c.decision.allowed)) {
      return {
        kind: "over_budget",
        budgets: decisions,
        proven,
        ...(verdict ? { verdict } : {}),
      } satisfies Admission;
    }
    for (const check of checks) check.record();
    return { decisions, receipts: checks.map((c) => ({ budget: c.budget, receipt: c.decision.receipt })) };
  }

  /** The guard's verdict on a send's block and range, and the rule that refuses it (none for a proven number). */
  #guard(request: SmsRequest, proven: boolean): GuardView {
    const { pump, phone } = request;
    if (!pump) return { safe: false };
    const { verdict, safe } = this.#pumping.judge(pump.prefix, phone, pump.policy);
    if (verdict.state !== "clear") return { verdict, safe, rule: verdict.range ? "range" : "block" };
    if (!pump.bounds || proven || safe) return { verdict, safe };
    const held = this.#pumping.unproven(pump.prefix, pump.bounds);
    if (held.block >= pump.bounds.block) return { verdict, safe, rule: "block-unproven" };
    if (rangeOf(pump.prefix, this.#layout) !== undefined && held.range >= pump.bounds.range) {
      return { verdict, safe, rule: "range-unproven" };
    }
    return { verdict, safe };
  }

  /** A send that goes ahead, counted by the guard: in its block and range, and unproven unless proven. */
  #countSend(request: SmsRequest, guard: { verdict?: PumpVerdict; safe: boolean }, proven: boolean) {
    const { pump } = request;
    const { verdict } = guard;
    if (!pump || !verdict || verdict.state !== "clear" || guard.safe) return { verdict, ticket: {} };
    const counted = this.#pumping.countSend(pump.prefix, pump.policy, proven ? undefined : pump.bounds);
    return {
      verdict: { ...verdict, counted: counted.bucket },
      ticket: {
        pumped: { prefix: pump.prefix, bucket: counted.bucket },
        unproven:
          counted.unproven === undefined ? undefined : { prefix: pump.prefix, bucket: counted.unproven },
      },
    };
  }

  async cancel(ticket: SendTicket): Promise<void> {
    const data = fromTicket(ticket);
    const { phone, event, receipts, key } = data;
    if (event) this.#windows.remove(`send|${phone}`, event);
    for (const { budget, receipt } of receipts) this.#budgets.refund(budget, receipt);
    this.#takeBackGuardCounts(data);
    // A retry's key keeps its retries: the next send with it is a retry still (its event stays).
    if (key && data.retry) this.#idempotency.release(key, phone, data.keyKeepMs ?? 0);
    else if (key) this.#idempotency.cancel(key, phone);
  }

  /** A send that surely or may not have reached its number never counts toward its block or range. */
  #takeBackGuardCounts({ pumped, unproven }: TicketData): void {
    if (pumped) this.#pumping.uncount(pumped.prefix, pumped.bucket);
    if (unproven) this.#pumping.giveBack(unproven.prefix, unproven.bucket);
  }

  /** The send may have gone out: the window and the budgets keep it; the guard's counts do not. */
  async release(ticket: SendTicket): Promise<void> {
    const data = fromTicket(ticket);
    this.#takeBackGuardCounts(data);
    if (data.key) this.#idempotency.release(data.key, data.phone, data.keyKeepMs ?? 0);
  }

  async record(ticket: SendTicket, sent: SentCode): Promise<void> {
    const { phone, key, unproven } = fromTicket(ticket);
    const id = verificationId(sent.id);
    // An id seen before (an upstream replay) keeps its spent attempts.
    if (!this.#verifications.has(id)) {
      const record: Verification = {
        phone,
        sentAtMs: sent.sentAtMs,
        expiresAtMs: sent.expiresAtMs,
        attemptsAllowed: sent.attempts,
        attemptsSpent: 0,
        verified: false,
        canceled: false,
        caller: sent.caller,
        unproven: unproven?.bucket,
      };
      this.#verifications.set(id, record, { ttl: sent.ttlMs + sent.keepMs });
    }
    if (key) this.#idempotency.complete(key, phone, sent.answer, sent.answerTtlMs);
  }

  async forget(ticket: SendTicket): Promise<void> {
    const { phone, key } = fromTicket(ticket);
    if (key) this.#idempotency.forget(key, phone);
  }

  async beginVerify(
    ref: VerificationRef,
    maxAttempts: number,
    window?: { policy: RatePolicy; member: string },
    caller = "",
  ): Promise<VerifyStart> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record || record.caller !== caller) return { state: "unknown" };
    const { phone } = record;
    const unproven = record.unproven === undefined ? {} : { unproven: record.unproven };
    if (record.verified) return { state: "used", phone, ...unproven };
    if (record.canceled) return { state: "canceled", phone, ...unproven };
    if (record.attemptsSpent >= Math.min(record.attemptsAllowed, maxAttempts)) {
      return { state: "exhausted", phone, ...unproven };
    }
    if (this.#wall() >= record.expiresAtMs) return { state: "expired", phone, ...unproven };
    if (window) {
      // Only an attempt that goes to the upstream is charged to the phone; a refused one spends nothing.
      const { decision, record: charge } = this.#windows.check(
        `verify|${phone}`,
        window.policy,
        window.member,
      );
      if (!decision.allowed) return { state: "limited", phone, ...unproven, decision };
      charge();
    }
    record.attemptsSpent += 1;
    return { state: "ok", phone, ...unproven };
  }

  async claimVerified(ref: VerificationRef): Promise<boolean> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record || record.verified || record.canceled) return false;
    record.verified = true;
    return true;
  }

  async verification(ref: VerificationRef): Promise<VerificationState | undefined> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record) return undefined;
    const { unproven: _, ...state } = record;
    return state;
  }

  async recordDelivery(ref: VerificationRef, status: DeliveryStatus, atMs: number): Promise<void> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record || deliveryRank(status) <= deliveryRank(record.delivery?.status ?? "unknown")) return;
    record.delivery = { status, atMs };
  }

  async takeDeliveryPoll(policy: RatePolicy): Promise<boolean> {
    const { decision, record } = this.#windows.check("delivery-polls", policy, crypto.randomUUID());
    if (decision.allowed) record();
    return decision.allowed;
  }

  async cancelVerification(ref: VerificationRef, caller: string, maxAttempts: number): Promise<CancelResult> {
    const record = this.#verifications.get(verificationId(ref));
    if (!record || record.caller !== caller) return { kind: "unknown" };
    const limited = { ...record, attemptsAllowed: Math.min(record.attemptsAllowed, maxAttempts) };
    const status = statusOf(limited, this.#wall());
    // Failed, its last attempt may still be at the upstream: marked, so that it cannot verify it.
    if (status === "failed") record.canceled = true;
    if (status !== "pending") return { kind: "ended", status };
    record.canceled = true;
    return { kind: "canceled" };
  }

  async refundVerify(ref: VerificationRef, member: string): Promise<void> {
    const record = this.#verifications.get(verificationId(ref));
    if (record) this.#windows.remove(`verify|${record.phone}`, member);
  }

  async countVerified({ phone, pump, unproven, returning }: VerifiedCode): Promise<void> {
    // A safe-listed number's code counts nowhere, as its sends do not.
    if (pump && !this.#pumping.isSafe(pump.prefix, phone)) {
      this.#pumping.record(pump.prefix, "verified", pump.policy);
      if (unproven !== undefined) this.#pumping.giveBack(pump.prefix, unproven);
    }
    if (returning) this.#returning.prove(phone, returning);
  }

  async bounded(bounds: UnprovenBounds): Promise<BoundedPrefix[]> {
    return this.#pumping.bounded(bounds);
  }

  async blocks(): Promise<GuardBlock[]> {
    return this.#pumping.blocks();
  }

  async liftBlock(prefix: string): Promise<boolean> {
    return this.#pumping.liftBlock(prefix);
  }

  async liftRange(prefix: string): Promise<boolean> {
    return this.#pumping.liftRange(prefix);
  }

  async addToSafeList(entry: SafeEntry): Promise<void> {
    this.#pumping.addSafe(entry.prefix, "number" in entry ? entry.number : undefined);
  }

  async removeFromSafeList(entry: SafeEntry): Promise<void> {
    this.#pumping.removeSafe(entry.prefix, "number" in entry ? entry.number : undefined);
  }

  async budgetUse(budget: SendBudget): Promise<BudgetDecision> {
    return this.#budgets.check(budget).decision;
  }

  async clearPhone(phone: string): Promise<void> {
    for (const kind of ["send", "verify"] as const) this.#windows.clear(`${kind}|${phone}`);
  }

  async connected(): Promise<boolean> {
    return true;
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
