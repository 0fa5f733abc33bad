import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { OtpStore } from "../../src/adapters/store/port";
import type { VerificationRef } from "../../src/domain/ids";
import type { PumpingPolicy } from "../../src/domain/pumping";
import { ratePolicy } from "../../src/domain/rate-policy";
import type { SendBudget } from "../../src/domain/send-budget";
import { statusOf } from "../../src/domain/verification-status";
import { budgetOf, limitsOf, must } from "./given";
import { guardBehaviour } from "./guard-behaviour";
import {
  admitTo,
  budgetsOf,
  claimKey,
  completeKey,
  countSent,
  countVerified,
  judgePrefix,
  keyTicket,
  reserve,
  saveRecord,
  sendEvent,
  takeBack,
  verdictOf,
} from "./store-steps";

let phoneCounter = 0;
/** A phone number no other test uses, so suites can share one Redis. */
export function freshPhone(): string {
  phoneCounter += 1;
  return `+9198${String(process.pid % 1000).padStart(3, "0")}${String(phoneCounter).padStart(5, "0")}`;
}

const windows = (text: string) => ratePolicy("phone", limitsOf(text));
const id = () => crypto.randomUUID();
let budgetCounter = 0;
/** A budget under a scope no other test uses (budgets are shared by every gateway on a store). */
const budget = (windows: string): SendBudget => {
  budgetCounter += 1;
  const scope = `T${process.pid % 1000}-${budgetCounter}`;
  return { ...budgetOf(windows.replace(/(^|,)/g, "$1*=")), scope };
};

/** A pumping policy in milliseconds: 10 ms buckets, codes live 100 ms, blocks of 300 ms doubling to 700 ms. */
const PUMPING: PumpingPolicy = {
  mode: "enforce",
  dropDigits: 3,
  rangeDropDigits: 5,
  windowMs: 600,
  bucketMs: 10,
  maturityMs: 100,
  minSends: 5,
  minConversion: 0.5,
  blockMs: 300,
  blockMaxMs: 700,
  safeList: [],
};
let prefixCounter = 0;
/** A block in a range no other test uses (the stores judge ranges of 100 blocks: PUMPING_RANGE_DROP 5). */
const freshPrefix = () => {
  prefixCounter += 1;
  return `+919${String(process.pid % 1000).padStart(3, "0")}${String(prefixCounter).padStart(2, "0")}00`;
};

/** A verification record of `phone` under a fresh id, as a send leaves it. */
async function saved(store: OtpStore, phone: string): Promise<VerificationRef> {
  const ref = { tag: await store.phoneTag(phone), inner: `otp_${id()}` };
  await saveRecord(store, ref, phone, 60_000);
  return ref;
}

/**
 * The store contract, run against every implementation (memory, Redis, Redis
 * Cluster): the same behaviour or the suite fails.
 */
export function storeBehaviour(
  name: string,
  open: () => Promise<OtpStore>,
  teardown: () => Promise<void> = async () => {},
  /** Another gateway's store on the same state, opened after `open`; none: the same store (memory). */
  openSecond?: () => Promise<OtpStore>,
) {
  describe(`${name} store`, () => {
    let store: OtpStore;
    let second: OtpStore | undefined;
    beforeAll(async () => {
      store = await open();
      second = await openSecond?.();
    });
    afterAll(async () => {
      await second?.close();
      await store.close();
      await teardown();
    });

    guardBehaviour(
      () => store,
      () => second ?? store,
    );

    test("allows up to the limit, then denies, and a denied hit is not recorded", async () => {
      const phone = freshPhone();
      const w = windows("2/400ms");
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      for (let i = 0; i < 5; i++) expect((await sendEvent(store, phone, w, id())).allowed).toBe(false);
      await Bun.sleep(450);
      // Had the denials been recorded, the window would still be full.
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
    });

    test("enforces every window at once and names the one that denies", async () => {
      const phone = freshPhone();
      const w = windows("1/300ms,2/5s");
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      const short = await sendEvent(store, phone, w, id());
      expect(short).toMatchObject({ allowed: false, policy: "1/300ms", retryAfterSeconds: 1 });
      await Bun.sleep(350);
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      await Bun.sleep(350);
      const long = await sendEvent(store, phone, w, id());
      expect(long).toMatchObject({ allowed: false, policy: "2/5s", remaining: 0 });
      // The first hit leaves the 5 s window about 4.3 s from now: Retry-After is never earlier.
      expect(long.retryAfterSeconds).toBeGreaterThanOrEqual(4);
      expect(long.retryAfterSeconds).toBeLessThanOrEqual(5);
    });

    test("reports what is left and when the next event can pass", async () => {
      const phone = freshPhone();
      const w = windows("1/1m,3/10m");
      const first = await sendEvent(store, phone, w, id());
      expect(first).toMatchObject({ allowed: true, remaining: 0, policy: "1/1m", nextAllowedSeconds: 60 });
    });

    test("send and verify events of one phone are counted apart", async () => {
      const phone = freshPhone();
      const w = windows("1/1m");
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      const vid = await saved(store, phone);
      expect(await store.beginVerify(vid, 3, { policy: w, member: id() })).toEqual({ state: "ok", phone });
    });

    test("exact under concurrency: 50 parallel hits on a limit of 10 let exactly 10 through", async () => {
      const phone = freshPhone();
      const w = windows("10/1m,40/1h");
      const results = await Promise.all(Array.from({ length: 50 }, () => sendEvent(store, phone, w, id())));
      expect(results.filter((r) => r.allowed)).toHaveLength(10);
    });

    test("an event already recorded passes again without being counted twice", async () => {
      const phone = freshPhone();
      const w = windows("1/1m,3/10m");
      expect(await sendEvent(store, phone, w, "idem:retry-me")).toMatchObject({
        allowed: true,
        recorded: true,
      });
      const retry = await sendEvent(store, phone, w, "idem:retry-me");
      // It says it recorded nothing: a caller taking its check back must not erase the first send.
      expect(retry).toMatchObject({ allowed: true, policy: "1/1m", recorded: false });
      expect((await sendEvent(store, phone, w, "idem:refused")).recorded).toBe(false);
      expect(retry.nextAllowedSeconds).toBeGreaterThanOrEqual(59);
      expect((await sendEvent(store, phone, w, "idem:another")).allowed).toBe(false);
    });

    test("a verification id seen before keeps its spent attempts and its used flag", async () => {
      const vid = await saved(store, "+919876543210");
      expect((await store.beginVerify(vid, 3)).state).toBe("ok");
      expect(await store.claimVerified(vid)).toBe(true);
      await saveRecord(store, vid, "+919876543210", 60_000);
      expect((await store.beginVerify(vid, 3)).state).toBe("used");
      expect(await store.claimVerified(vid)).toBe(false);
    });

    test("a send taken back (cancel) leaves no event in the phone's windows", async () => {
      const phone = freshPhone();
      const w = windows("1/1m");
      const event = id();
      const first = await sendEvent(store, phone, w, event);
      expect(first.allowed).toBe(true);
      await takeBack(store, first);
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
    });

    test("idempotency: claim, replay, conflict, release", async () => {
      const key = `key-${id()}`;
      expect(await claimKey(store, key, "+919876543210", 5_000)).toEqual({ state: "new" });
      expect(await claimKey(store, key, "+919876543210", 5_000)).toEqual({ state: "pending" });
      // Another phone of the range meets the claim itself (another range's is found by the key's binding to its phone).
      expect(await claimKey(store, key, "+919876543299", 5_000)).toEqual({ state: "conflict" });
      await completeKey(store, key, "+919876543210", '{"requestId":"r1"}', 60_000);
      expect(await claimKey(store, key, "+919876543210", 5_000)).toEqual({
        state: "done",
        answer: '{"requestId":"r1"}',
      });
      await store.release(keyTicket("+919876543210", key)); // a finished answer is kept
      expect((await claimKey(store, key, "+919876543210", 5_000)).state).toBe("done");

      const failed = `key-${id()}`;
      await claimKey(store, failed, "+919876543210", 5_000);
      await store.release(keyTicket("+919812345678", failed)); // another phone's release takes nothing
      expect((await claimKey(store, failed, "+919876543210", 5_000)).state).toBe("pending");
      await store.release(keyTicket("+919876543210", failed));
      expect(await claimKey(store, failed, "+919876543210", 5_000)).toEqual({ state: "new" });
    });

    test("idempotency: a key is bound to one phone until its claim is taken back; a failed send keeps it", async () => {
      const key = `key-${id()}`;
      const [a, b] = [freshPhone(), `+9197${freshPhone().slice(5)}`]; // b in another range
      expect(await claimKey(store, key, a, 5_000)).toEqual({ state: "new" });
      // Its own phone finds its claim; a phone of another range finds the key taken.
      expect((await claimKey(store, key, a, 5_000)).state).not.toBe("conflict");
      expect(await claimKey(store, key, a, 5_000)).toEqual({ state: "pending" });
      expect(await claimKey(store, key, b, 5_000)).toEqual({ state: "conflict" });
      await store.release(keyTicket(b, key)); // not b's to release
      expect(await claimKey(store, key, b, 5_000)).toEqual({ state: "conflict" });
      // a's send failed and may have gone out: the key is free for a's retry, still a's.
      await store.release(keyTicket(a, key));
      expect(await claimKey(store, key, b, 5_000)).toEqual({ state: "conflict" });
      expect(await claimKey(store, key, a, 5_000)).toEqual({ state: "new" });
      // a's send went nowhere (taken back): the key is free for anyone.
      await store.cancel(keyTicket(a, key));
      expect((await claimKey(store, key, b, 5_000)).state).not.toBe("conflict");
      // An answered key stays bound to its phone for as long as its answer is kept.
      const done = `key-${id()}`;
      await claimKey(store, done, a, 5_000);
      await completeKey(store, done, a, '{"requestId":"r1"}', 60_000);
      expect(await claimKey(store, done, b, 5_000)).toEqual({ state: "conflict" });
    });

    test("idempotency: a phone's late release or forget leaves another phone's claim of its range alone", async () => {
      const key = `key-${id()}`;
      // Two numbers of one range: one claim key. The first's claim expires while its send runs.
      const range = freshPhone().slice(0, -5);
      const [first, second] = [`${range}10001`, `${range}20002`];
      expect(await claimKey(store, key, first, 50)).toEqual({ state: "new" });
      await Bun.sleep(80);
      expect(await claimKey(store, key, second, 10_000)).toEqual({ state: "new" });
      await store.release(keyTicket(first, key)); // the first's send fails
      expect(await claimKey(store, key, second, 10_000)).toEqual({ state: "pending" });
      await completeKey(store, key, second, '{"requestId":"x"}', 60_000);
      await store.forget(keyTicket(first, key)); // the first forgets an answer it never wrote
      expect(await claimKey(store, key, second, 10_000)).toEqual({
        state: "done",
        answer: '{"requestId":"x"}',
      });
    });

    test("a pending claim expires on its own (its gateway may have died)", async () => {
      const key = `key-${id()}`;
      await claimKey(store, key, "+919876543210", 200);
      await Bun.sleep(300);
      expect(await claimKey(store, key, "+919876543210", 200)).toEqual({ state: "new" });
    });

    test("verification records: attempts are counted, success is claimed once", async () => {
      const phone = freshPhone();
      const vid = { tag: await store.phoneTag(phone), inner: `otp_${id()}` };
      expect((await store.beginVerify(vid, 3)).state).toBe("unknown");
      await saveRecord(store, vid, phone, 60_000);
      // One step finds the id's phone and begins the attempt.
      expect(await store.beginVerify(vid, 3)).toEqual({ state: "ok", phone });
      expect(await store.beginVerify({ ...vid, inner: `otp_${id()}` }, 3)).toEqual({ state: "unknown" });
      for (let i = 0; i < 2; i++) expect((await store.beginVerify(vid, 3)).state).toBe("ok");
      expect(await store.beginVerify(vid, 3)).toEqual({ state: "exhausted", phone });

      const other = await saved(store, phone);
      expect((await store.beginVerify(other, 3)).state).toBe("ok");
      const claims = await Promise.all(Array.from({ length: 10 }, () => store.claimVerified(other)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await store.beginVerify(other, 3)).state).toBe("used");
      expect(await store.claimVerified({ ...other, inner: `otp_${id()}` })).toBe(false);
    });

    test("a verify charges its phone's window in the step that begins it; a refused one spends no attempt", async () => {
      const phone = freshPhone();
      const w = windows("2/1m");
      const charge = () => ({ policy: w, member: id() });
      const [first, second] = [await saved(store, phone), await saved(store, phone)];
      expect((await store.beginVerify(first, 3, charge())).state).toBe("ok");
      expect((await store.beginVerify(second, 3, charge())).state).toBe("ok");
      const limited = await store.beginVerify(second, 3, charge());
      expect(limited).toMatchObject({
        state: "limited",
        phone,
        decision: { allowed: false, policy: "2/1m", limit: 2 },
      });
      expect(limited.state === "limited" && limited.decision.retryAfterSeconds).toBeGreaterThanOrEqual(59);
      // The refused verify spent none of the id's three attempts: two are left.
      expect((await store.beginVerify(second, 3)).state).toBe("ok");
      expect((await store.beginVerify(second, 3)).state).toBe("ok");
      expect((await store.beginVerify(second, 3)).state).toBe("exhausted");
      // An exhausted, used or unknown id charges nothing to its phone.
      const elsewhere = freshPhone();
      const one = { policy: windows("1/1m"), member: "" };
      const [spent, used, fresh] = [
        await saved(store, elsewhere),
        await saved(store, elsewhere),
        await saved(store, elsewhere),
      ];
      for (let i = 0; i < 3; i++) await store.beginVerify(spent, 3);
      await store.beginVerify(used, 3);
      await store.claimVerified(used);
      expect((await store.beginVerify(spent, 3, { ...one, member: id() })).state).toBe("exhausted");
      expect((await store.beginVerify(used, 3, { ...one, member: id() })).state).toBe("used");
      expect(
        (await store.beginVerify({ ...fresh, inner: `otp_${id()}` }, 3, { ...one, member: id() })).state,
      ).toBe("unknown");
      expect((await store.beginVerify(fresh, 3, { ...one, member: id() })).state).toBe("ok");
      expect((await store.beginVerify(fresh, 3, { ...one, member: id() })).state).toBe("limited");
    });

    test("a verify's charge to its phone can be taken back, and only that one", async () => {
      const phone = freshPhone();
      const one = windows("1/1m");
      const [first, second] = [await saved(store, phone), await saved(store, phone)];
      const member = id();
      expect((await store.beginVerify(first, 3, { policy: one, member })).state).toBe("ok");
      expect((await store.beginVerify(second, 3, { policy: one, member: id() })).state).toBe("limited");
      await store.refundVerify(second, id()); // a member never charged: nothing changes
      expect((await store.beginVerify(second, 3, { policy: one, member: id() })).state).toBe("limited");
      await store.refundVerify(first, member);
      expect((await store.beginVerify(second, 3, { policy: one, member: id() })).state).toBe("ok");
      expect((await store.beginVerify(first, 3, { policy: one, member: id() })).state).toBe("limited");
    });

    test("a phone's verify window holds across its ids, exactly, under concurrency", async () => {
      const phone = freshPhone();
      const w = windows("10/1m");
      const vids = await Promise.all(Array.from({ length: 10 }, () => saved(store, phone)));
      const starts = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.beginVerify(must(vids[i % 10], "a saved id"), 5, { policy: w, member: id() }),
        ),
      );
      expect(starts.filter((s) => s.state === "ok")).toHaveLength(10);
      expect(starts.filter((s) => s.state === "limited")).toHaveLength(40);
    });

    test("a phone's tag is stable and its own", async () => {
      const phone = freshPhone();
      const tag = await store.phoneTag(phone);
      expect(tag).toMatch(/^[0-9a-f]{16}$/);
      expect(await store.phoneTag(phone)).toBe(tag);
      expect(await store.phoneTag(freshPhone())).not.toBe(tag);
    });

    test("verification records expire with the code", async () => {
      const vid = { tag: await store.phoneTag("+919876543210"), inner: `otp_${id()}` };
      await saveRecord(store, vid, "+919876543210", 200);
      await Bun.sleep(300);
      expect((await store.beginVerify(vid, 3)).state).toBe("unknown");
    });

    test("a verification's life: pending, expired once its code's time is up, readable for keepMs more, then forgotten", async () => {
      const phone = freshPhone();
      const vid = { tag: await store.phoneTag(phone), inner: `otp_${id()}` };
      expect(await store.verification(vid)).toBeUndefined();
      await saveRecord(store, vid, phone, 300, { keepMs: 600, caller: "caller-1" });
      const pending = must(await store.verification(vid), "the record");
      expect(pending).toMatchObject({ phone, attemptsAllowed: 3, attemptsSpent: 0, caller: "caller-1" });
      expect(statusOf(pending, Date.now())).toBe("pending");
      expect(pending.expiresAtMs - pending.sentAtMs).toBe(300);
      // Another caller's id is unknown to it, and it spends nothing.
      expect(await store.beginVerify(vid, 3, undefined, "caller-2")).toEqual({ state: "unknown" });
      expect(await store.beginVerify(vid, 3)).toEqual({ state: "unknown" });
      expect((await store.beginVerify(vid, 3, undefined, "caller-1")).state).toBe("ok");
      expect(must(await store.verification(vid), "the record").attemptsSpent).toBe(1);
      await Bun.sleep(400);
      // The record outlives the code: a verify finds it expired (nothing spent), the status says so.
      expect(await store.beginVerify(vid, 3, undefined, "caller-1")).toEqual({ state: "expired", phone });
      const expired = must(await store.verification(vid), "the record after its code");
      expect(expired.attemptsSpent).toBe(1);
      expect(statusOf(expired, Date.now())).toBe("expired");
      expect(await store.cancelVerification(vid, "caller-1", 3)).toEqual({
        kind: "ended",
        status: "expired",
      });
      await Bun.sleep(700);
      expect(await store.verification(vid)).toBeUndefined();
      expect((await store.beginVerify(vid, 3, undefined, "caller-1")).state).toBe("unknown");
      expect(await store.cancelVerification(vid, "caller-1", 3)).toEqual({ kind: "unknown" });
    });

    test("cancel: only its caller's, only while pending, once; its code then never verifies", async () => {
      const phone = freshPhone();
      const vid = { tag: await store.phoneTag(phone), inner: `otp_${id()}` };
      await saveRecord(store, vid, phone, 60_000, { keepMs: 60_000, caller: "caller-1" });
      expect(await store.cancelVerification(vid, "caller-2", 3)).toEqual({ kind: "unknown" });
      expect(await store.cancelVerification(vid, "", 3)).toEqual({ kind: "unknown" });
      const cancels = await Promise.all(
        Array.from({ length: 20 }, () => store.cancelVerification(vid, "caller-1", 3)),
      );
      expect(cancels.filter((c) => c.kind === "canceled")).toHaveLength(1);
      expect(cancels.filter((c) => c.kind === "ended" && c.status === "canceled")).toHaveLength(19);
      expect(await store.beginVerify(vid, 3, undefined, "caller-1")).toEqual({ state: "canceled", phone });
      expect(await store.claimVerified(vid)).toBe(false);
      const state = must(await store.verification(vid), "the record");
      expect(state).toMatchObject({ canceled: true, verified: false, attemptsSpent: 0 });
      expect(statusOf(state, Date.now())).toBe("canceled");
    });

    test("cancel between a verify's begin and its claim: the claim fails; a verified or failed one has ended", async () => {
      const phone = freshPhone();
      const racing = await saved(store, phone);
      expect((await store.beginVerify(racing, 3)).state).toBe("ok");
      expect(await store.cancelVerification(racing, "", 3)).toEqual({ kind: "canceled" });
      expect(await store.claimVerified(racing)).toBe(false);

      const verified = await saved(store, phone);
      expect((await store.beginVerify(verified, 3)).state).toBe("ok");
      expect(await store.claimVerified(verified)).toBe(true);
      expect(await store.cancelVerification(verified, "", 3)).toEqual({ kind: "ended", status: "verified" });
      expect(statusOf(must(await store.verification(verified), "the record"), Date.now())).toBe("verified");

      // Its last attempt still at the upstream: it has failed, and the cancel keeps that attempt from verifying it.
      const failed = await saved(store, phone);
      for (let i = 0; i < 3; i++) expect((await store.beginVerify(failed, 3)).state).toBe("ok");
      expect(await store.cancelVerification(failed, "", 3)).toEqual({ kind: "ended", status: "failed" });
      expect(await store.claimVerified(failed)).toBe(false);
      expect(statusOf(must(await store.verification(failed), "the record"), Date.now())).toBe("failed");
      // A code may have no more attempts than its send allowed, whatever OTP_MAX_ATTEMPTS says later.
      const spent = await saved(store, phone);
      for (let i = 0; i < 3; i++) expect((await store.beginVerify(spent, 3)).state).toBe("ok");
      expect(await store.beginVerify(spent, 5)).toEqual({ state: "exhausted", phone });
    });

    test("delivery: a report is kept only when further along, never on a record that is gone", async () => {
      const phone = freshPhone();
      const vid = await saved(store, phone);
      await store.recordDelivery(vid, "sent", 1_000);
      expect(must(await store.verification(vid), "the record").delivery).toEqual({
        status: "sent",
        atMs: 1_000,
      });
      await store.recordDelivery(vid, "queued", 2_000); // late and behind: ignored
      expect(must(await store.verification(vid), "the record").delivery).toEqual({
        status: "sent",
        atMs: 1_000,
      });
      await store.recordDelivery(vid, "delivered", 3_000);
      await store.recordDelivery(vid, "failed", 4_000); // a second final report: the first stands
      expect(must(await store.verification(vid), "the record").delivery).toEqual({
        status: "delivered",
        atMs: 3_000,
      });
      const gone = { tag: vid.tag, inner: `otp_${id()}` };
      await store.recordDelivery(gone, "delivered", 5_000);
      expect(await store.verification(gone)).toBeUndefined();
    });

    test("delivery polls: the shared pace lets exactly its limit through, under concurrency", async () => {
      const pace = ratePolicy("delivery", limitsOf("10/2s"));
      const taken = await Promise.all(Array.from({ length: 30 }, () => store.takeDeliveryPoll(pace)));
      expect(taken.filter(Boolean)).toHaveLength(10);
    });

    test("a budget admits exactly its limit under concurrency, and a refused send is not counted", async () => {
      const b = budget("20/1h");
      const results = await Promise.all(Array.from({ length: 50 }, () => reserve(store, b)));
      expect(results.filter((r) => r.allowed)).toHaveLength(20);
      const refused = must(
        results.find((r) => !r.allowed),
        "a refused send",
      );
      expect(refused.receipt).toBe("");
      // Freed when its bucket leaves the window: within one window plus one bucket, never sooner than the window.
      expect(refused.waitMs).toBeGreaterThan(3_600_000 - 60_000 - 1_000);
      expect(refused.waitMs).toBeLessThanOrEqual(3_600_000 + 60_000);
      expect((await store.budgetUse(b)).used).toEqual([20]);
    });

    test("a budget checks every window, takes back a refund, and only looks when asked to", async () => {
      const b = budget("3/1h,5/24h");
      const first = await reserve(store, b);
      expect(first).toMatchObject({ allowed: true, used: [1, 1], remaining: 2, index: 0 });
      await reserve(store, b);
      await reserve(store, b);
      expect((await reserve(store, b)).allowed).toBe(false);
      await takeBack(store, first);
      expect(await store.budgetUse(b)).toMatchObject({ allowed: true, used: [2, 2] });
      expect((await reserve(store, b)).allowed).toBe(true);
      expect((await reserve(store, b)).allowed).toBe(false);
      // A refund of a receipt twice takes back no more than was counted.
      const other = budget("1/1m");
      const only = await reserve(store, other);
      await takeBack(store, only);
      await takeBack(store, only);
      expect((await store.budgetUse(other)).used).toEqual([0]);
    });

    test("a budget's window slides: sends leave it bucket by bucket", async () => {
      const b = budget("2/2s");
      expect((await reserve(store, b)).allowed).toBe(true);
      expect((await reserve(store, b)).allowed).toBe(true);
      const refused = await reserve(store, b);
      expect(refused.allowed).toBe(false);
      expect(refused.waitMs).toBeGreaterThan(1_900);
      expect(refused.waitMs).toBeLessThanOrEqual(2_034);
      await Bun.sleep(refused.waitMs + 20);
      expect((await reserve(store, b)).allowed).toBe(true);
    });

    test("pumping: a prefix whose judged sends are not verified is blocked, longer on a repeat, then lifted", async () => {
      const prefix = freshPrefix();
      const phone = `${prefix}123`;
      for (let i = 0; i < 6; i++) await countSent(store, prefix, PUMPING);
      // Fresh sends are not held against the prefix: their codes may still be verified.
      expect((await judgePrefix(store, prefix, phone, PUMPING)).state).toBe("clear");
      await Bun.sleep(130);
      const first = await judgePrefix(store, prefix, phone, PUMPING);
      expect(first).toMatchObject({ state: "newly_blocked", strikes: 1 });
      expect(first.remainingMs).toBeGreaterThan(250);
      expect(first.remainingMs).toBeLessThanOrEqual(300);
      expect((await judgePrefix(store, prefix, phone, PUMPING)).state).toBe("blocked");
      expect((await store.blocks()).map((b) => b.prefix)).toContain(prefix);
      await Bun.sleep(320);
      expect((await judgePrefix(store, prefix, phone, PUMPING)).state).toBe("clear"); // lifted after its time
      for (let i = 0; i < 6; i++) await countSent(store, prefix, PUMPING);
      await Bun.sleep(130);
      const repeat = await judgePrefix(store, prefix, phone, PUMPING);
      expect(repeat).toMatchObject({ state: "newly_blocked", strikes: 2 });
      expect(repeat.remainingMs).toBeGreaterThan(550); // doubled
      expect(await store.liftBlock(prefix)).toBe(true);
      expect((await judgePrefix(store, prefix, phone, PUMPING)).state).toBe("clear");
      expect((await store.blocks()).map((b) => b.prefix)).not.toContain(prefix);
    });

    test("pumping: a slow prefix is judged over the whole window, older counts folded", async () => {
      // Coarse buckets of 120 ms (60 × 2 ms) in a 600 ms window: two sends every 150 ms stay under
      // the 5 judged sends of any one coarse span, but not of the window.
      const slow = { ...PUMPING, bucketMs: 2, maturityMs: 50 };
      const prefix = freshPrefix();
      const phone = `${prefix}001`;
      for (let round = 0; round < 3; round++) {
        await countSent(store, prefix, slow);
        expect((await judgePrefix(store, prefix, phone, slow)).state).toBe("clear"); // and counts this send
        await Bun.sleep(150);
      }
      expect((await judgePrefix(store, prefix, phone, slow)).state).toBe("newly_blocked");
    });

    test("pumping: a clear check counts its send; a send taken back does not count", async () => {
      const prefix = freshPrefix();
      for (let i = 0; i < 6; i++) {
        const verdict = await judgePrefix(store, prefix, `${prefix}00${i}`, PUMPING);
        expect(verdict.state).toBe("clear");
        await takeBack(store, verdict);
      }
      await Bun.sleep(130);
      expect((await judgePrefix(store, prefix, `${prefix}010`, PUMPING)).state).toBe("clear");
      const counted = freshPrefix();
      for (let i = 0; i < 6; i++) {
        expect((await judgePrefix(store, counted, `${counted}00${i}`, PUMPING)).counted).toBeNumber();
      }
      await Bun.sleep(130);
      expect((await judgePrefix(store, counted, `${counted}010`, PUMPING)).state).toBe("newly_blocked");
    });

    test("pumping: a converting prefix is never blocked; the safe list is honoured", async () => {
      const converting = freshPrefix();
      for (let i = 0; i < 8; i++) await countSent(store, converting, PUMPING);
      for (let i = 0; i < 6; i++) await countVerified(store, converting, PUMPING);
      const pumped = freshPrefix();
      for (let i = 0; i < 8; i++) await countSent(store, pumped, PUMPING);
      await store.addToSafeList({ prefix: pumped, number: `${pumped}555` });
      await Bun.sleep(130);
      expect((await judgePrefix(store, converting, `${converting}001`, PUMPING)).state).toBe("clear");
      expect((await judgePrefix(store, pumped, `${pumped}555`, PUMPING)).state).toBe("clear"); // that number is safe
      await store.addToSafeList({ prefix: pumped });
      expect((await judgePrefix(store, pumped, `${pumped}001`, PUMPING)).state).toBe("clear"); // the whole prefix is
      await store.removeFromSafeList({ prefix: pumped });
      await store.removeFromSafeList({ prefix: pumped, number: `${pumped}555` });
      expect((await judgePrefix(store, pumped, `${pumped}001`, PUMPING)).state).toBe("newly_blocked");
    });

    test("pumping ranges: sends spread thin over the blocks of one range are judged as one, below half the conversion", async () => {
      const block = freshPrefix();
      const range = block.slice(0, -2);
      const sibling = (k: number) => `${range}${String(k).padStart(2, "0")}`;
      // One unverified send to each of 20 blocks: no block has its 5 judged sends, and the range
      // needs 5 × 5 (RANGE_EVIDENCE): it stays open.
      for (let k = 1; k <= 20; k++) {
        expect((await judgePrefix(store, sibling(k), `${sibling(k)}001`, PUMPING)).state).toBe("clear");
      }
      await Bun.sleep(130);
      expect((await judgePrefix(store, sibling(21), `${sibling(21)}001`, PUMPING)).state).toBe("clear");
      // 8 verified of 29 is under the blocks' 50 % but not under the range's 25 %; 8 of 40 is.
      for (let k = 22; k <= 29; k++) await judgePrefix(store, sibling(k), `${sibling(k)}001`, PUMPING);
      for (let k = 22; k <= 29; k++) await countVerified(store, sibling(k), PUMPING);
      await Bun.sleep(130);
      expect((await judgePrefix(store, sibling(30), `${sibling(30)}001`, PUMPING)).state).toBe("clear");
      for (let k = 31; k <= 40; k++) await judgePrefix(store, sibling(k), `${sibling(k)}001`, PUMPING);
      await Bun.sleep(130);
      const closed = await judgePrefix(store, sibling(41), `${sibling(41)}001`, PUMPING);
      expect(closed).toMatchObject({ state: "newly_blocked", range: true, strikes: 1 });
      expect(closed.counted).toBeUndefined();
      // Every block of the range is refused now, a safe-listed one is not; another range is untouched.
      expect(await judgePrefix(store, sibling(99), `${sibling(99)}123`, PUMPING)).toMatchObject({
        state: "blocked",
        range: true,
      });
      await store.addToSafeList({ prefix: sibling(50) });
      expect((await judgePrefix(store, sibling(50), `${sibling(50)}001`, PUMPING)).state).toBe("clear");
      const other = freshPrefix();
      expect((await judgePrefix(store, other, `${other}001`, PUMPING)).state).toBe("clear");
      const listed = (await store.blocks()).filter((b) => b.prefix.startsWith(range));
      expect(listed).toEqual([expect.objectContaining({ prefix: range, range: true, strikes: 1 })]);
      // Lifting the range by its prefix: a block's lift does not touch it.
      expect(await store.liftBlock(sibling(41))).toBe(false);
      expect(await store.liftRange(range)).toBe(true);
      expect((await judgePrefix(store, sibling(42), `${sibling(42)}001`, PUMPING)).state).toBe("clear");
      expect((await store.blocks()).some((b) => b.prefix === range)).toBe(false);
    });

    test("pumping ranges: a send counts in its block and its range; one taken back leaves neither; a blocked block's sends leave its range", async () => {
      const block = freshPrefix();
      const range = block.slice(0, -2);
      const sibling = (k: number) => `${range}${String(k).padStart(2, "0")}`;
      for (let k = 1; k <= 6; k++) {
        const verdict = await judgePrefix(store, sibling(k), `${sibling(k)}001`, PUMPING);
        await takeBack(store, verdict);
      }
      await Bun.sleep(130);
      expect((await judgePrefix(store, sibling(7), `${sibling(7)}001`, PUMPING)).state).toBe("clear");
      // A block blocked on its own says so, not its range.
      for (let i = 0; i < 6; i++) await countSent(store, sibling(30), PUMPING);
      await Bun.sleep(130);
      const own = await judgePrefix(store, sibling(30), `${sibling(30)}001`, PUMPING);
      expect(own.state).toBe("newly_blocked");
      expect(own.range).toBeUndefined();
      // ...and its range forgets the sends it was judged on: one pumped block does not close its neighbours.
      await Bun.sleep(20);
      expect((await judgePrefix(store, sibling(31), `${sibling(31)}001`, PUMPING)).state).toBe("clear");
      expect((await store.blocks()).filter((b) => b.prefix.startsWith(range)).map((b) => b.prefix)).toEqual([
        sibling(30),
      ]);
    });

    test("pumping ranges: a block blocked on sends it has just folded still takes them out of its range", async () => {
      // Three coarse buckets of 600 ms: sends folded after 600 ms are still judged.
      const slow = { ...PUMPING, windowMs: 1_800, maturityMs: 50, minSends: 20, minConversion: 0.5 };
      const block = freshPrefix();
      const range = block.slice(0, -2);
      const sibling = (k: number) => `${range}${String(k).padStart(2, "0")}`;
      // A zero count in the block (a send taken back) beside a neighbour's count in the range.
      const taken = await judgePrefix(store, sibling(1), `${sibling(1)}001`, slow);
      await countSent(store, sibling(2), slow);
      await takeBack(store, taken);
      for (let i = 0; i < 25; i++) await countSent(store, sibling(1), slow);
      // Older than one coarse bucket: the block's check folds them, then blocks on them.
      await Bun.sleep(650);
      const own = await judgePrefix(store, sibling(1), `${sibling(1)}002`, slow);
      expect(own).toMatchObject({ state: "newly_blocked" });
      expect(own.range).toBeUndefined();
      // The range forgot them (folded or not there): a neighbour's send is clear, the range not blocked.
      expect((await judgePrefix(store, sibling(3), `${sibling(3)}001`, slow)).state).toBe("clear");
      expect((await store.blocks()).filter((b) => b.prefix.startsWith(range)).map((b) => b.prefix)).toEqual([
        sibling(1),
      ]);
    });

    test("admission: the phone's windows first; a refused send asks nothing of its prefix", async () => {
      const prefix = freshPrefix();
      const w = windows("1/1m");
      const first = await admitTo(store, `${prefix}001`, w, id(), { pump: { prefix, policy: PUMPING } });
      expect(first).toMatchObject({ kind: "admitted", decision: { allowed: true, recorded: true } });
      expect(verdictOf(first)).toMatchObject({ state: "clear", counted: expect.any(Number) });
      const refused = await admitTo(store, `${prefix}001`, w, id(), { pump: { prefix, policy: PUMPING } });
      expect(refused).toMatchObject({ kind: "limited", decision: { allowed: false } });
      expect(verdictOf(refused)).toBeUndefined();
      // Five more sends (other numbers of the block) make six judged: had the refused one counted, seven.
      for (let i = 2; i <= 5; i++) {
        await admitTo(store, `${prefix}00${i}`, w, id(), { pump: { prefix, policy: PUMPING } });
      }
      await Bun.sleep(130);
      const strict = { ...PUMPING, minSends: 6 };
      expect((await judgePrefix(store, prefix, `${prefix}009`, strict)).state).toBe("clear"); // 5 judged < 6
    });

    test("admission: a blocked prefix keeps the phone's window free when enforced, not when monitored", async () => {
      const prefix = freshPrefix();
      for (let i = 0; i < 6; i++) await countSent(store, prefix, PUMPING);
      await Bun.sleep(130);
      const w = windows("1/1m");
      const blocked = await admitTo(store, `${prefix}001`, w, id(), { pump: { prefix, policy: PUMPING } });
      expect(verdictOf(blocked)?.state).toBe("newly_blocked");
      expect(blocked.kind).toBe("blocked"); // refused: nothing recorded
      const monitored = await admitTo(store, `${prefix}002`, w, id(), {
        pump: { prefix, policy: { ...PUMPING, mode: "monitor" } },
      });
      expect(verdictOf(monitored)?.state).toBe("blocked");
      expect(monitored).toMatchObject({ kind: "admitted", decision: { recorded: true } });
      expect(await store.liftBlock(prefix)).toBe(true);
      // The enforced refusal used nothing of the phone's 1/1m; the monitored send did.
      expect(
        (await admitTo(store, `${prefix}001`, w, id(), { pump: { prefix, policy: PUMPING } })).kind,
      ).toBe("admitted");
      expect(
        (await admitTo(store, `${prefix}002`, w, id(), { pump: { prefix, policy: PUMPING } })).kind,
      ).toBe("limited");
    });

    test("admission with budgets: all or nothing; a blocked prefix or a retry asks no budget", async () => {
      const prefix = freshPrefix();
      const [all, country] = [budget("5/1h"), budget("1/1h")];
      const w = windows("1/1m");
      const pump = { prefix, policy: PUMPING };
      const member = id();
      const first = await admitTo(store, `${prefix}001`, w, member, { pump, budgets: [all, country] });
      expect(first).toMatchObject({ kind: "admitted", decision: { allowed: true, recorded: true } });
      expect(budgetsOf(first).map((b) => [b.allowed, b.used])).toEqual([
        [true, [1]],
        [true, [1]],
      ]);
      expect(budgetsOf(first)[0]?.receipt).not.toBe("");
      // The country's budget refuses: the phone's window, the prefix and the `*` budget keep nothing of it.
      const refused = await admitTo(store, `${prefix}002`, w, id(), { pump, budgets: [all, country] });
      expect(refused.kind).toBe("over_budget"); // refused: nothing recorded
      expect(budgetsOf(refused).map((b) => b.allowed)).toEqual([true, false]);
      expect(verdictOf(refused)?.counted).toBeUndefined();
      expect((await store.budgetUse(all)).used).toEqual([1]);
      expect((await sendEvent(store, `${prefix}002`, w, id())).allowed).toBe(true);
      // A retry of the first send (same member): passes, asks no budget, counts nothing.
      const retry = await admitTo(store, `${prefix}001`, w, member, { pump, budgets: [all, country] });
      expect(retry).toMatchObject({
        kind: "admitted",
        retry: true,
        decision: { allowed: true, recorded: false },
      });
      expect(retry.kind === "admitted" && retry.budgets).toBeUndefined();
      expect(verdictOf(retry)).toMatchObject({ state: "clear" });
      expect(verdictOf(retry)?.counted).toBeUndefined();
      // The prefix saw one send (the first): with minSends 2 it is not judged, with 1 it is.
      await Bun.sleep(130);
      expect((await judgePrefix(store, prefix, `${prefix}009`, { ...PUMPING, minSends: 2 })).state).toBe(
        "clear",
      );
      const other = freshPrefix();
      await admitTo(store, `${other}001`, w, id(), { pump: { prefix: other, policy: PUMPING } });
      for (let i = 0; i < 6; i++) await countSent(store, other, PUMPING);
      await Bun.sleep(130);
      const blocked = await admitTo(store, `${other}002`, w, id(), {
        pump: { prefix: other, policy: PUMPING },
        budgets: [all],
      });
      expect(verdictOf(blocked)?.state).toBe("newly_blocked");
      expect(budgetsOf(blocked)).toEqual([]);
      expect((await store.budgetUse(all)).used).toEqual([1]);
    });

    test("admission: 50 parallel sends under a budget of 20 record exactly 20", async () => {
      const b = budget("20/1h");
      const prefix = freshPrefix();
      const w = windows("5/1m");
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          admitTo(store, `${prefix}${String(i).padStart(3, "0")}`, w, id(), {
            pump: { prefix, policy: PUMPING },
            budgets: [b],
          }),
        ),
      );
      expect(results.filter((r) => r.kind === "admitted" && r.decision?.recorded)).toHaveLength(20);
      expect(results.filter((r) => budgetsOf(r)[0]?.allowed)).toHaveLength(20);
      expect((await store.budgetUse(b)).used).toEqual([20]);
      // Only the 20 admitted were counted for the prefix: judged on 21 it stays clear, on 20 it blocks.
      await Bun.sleep(130);
      expect((await judgePrefix(store, prefix, `${prefix}999`, { ...PUMPING, minSends: 21 })).state).toBe(
        "clear",
      );
      expect((await judgePrefix(store, prefix, `${prefix}999`, { ...PUMPING, minSends: 20 })).state).toBe(
        "newly_blocked",
      );
    });

    test("clearing a phone forgets its send and verify windows", async () => {
      const phone = freshPhone();
      const w = windows("1/1h");
      const vid = await saved(store, phone);
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      expect((await store.beginVerify(vid, 5, { policy: w, member: id() })).state).toBe("ok");
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(false);
      expect((await store.beginVerify(vid, 5, { policy: w, member: id() })).state).toBe("limited");
      await store.clearPhone(phone);
      expect((await sendEvent(store, phone, w, id())).allowed).toBe(true);
      expect((await store.beginVerify(vid, 5, { policy: w, member: id() })).state).toBe("ok");
    });

    test("answers a ping", async () => {
      await store.ping();
    });
  });
}
