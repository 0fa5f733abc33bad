import { expect, test } from "bun:test";
import type { Admission, KeyClaim, OtpStore, PumpCheck } from "../../src/adapters/store/port";
import { type PumpingPolicy, type UnprovenBounds, unprovenBounds } from "../../src/domain/pumping";
import type { ReturningPolicy } from "../../src/domain/returning";
import { type SendBudget, sendBudget } from "../../src/domain/send-budget";
import { must } from "./given";
import { countSent, keyClaim, sentCode, WIDE } from "./store-steps";

/**
 * The spend guard's rules as every store must hold them (memory, Redis, Redis Cluster): the
 * bounds on unproven sends per block and per range, the give-back of a verified code, returning
 * users, the budgets' reserve, monitor mode, and what a failed or safe-listed send counts.
 * Run inside a store's suite: `store()` is its store, `second()` another gateway's on the same
 * state (the same store for the memory one).
 */
export function guardBehaviour(store: () => OtpStore, second: () => OtpStore) {
  test("unproven bounds: a fresh block holds its bound, then refuses new numbers by its rule; refused sends count nothing", async () => {
    const block = freshBlock();
    const pump = check(block, { block: 3, range: 100 });
    for (let i = 1; i <= 3; i++)
      expect((await sendTo(store(), `${block}00${i}`, pump)).kind).toBe("admitted");
    for (let i = 4; i <= 6; i++) {
      const refused = await sendTo(store(), `${block}00${i}`, pump);
      expect(refused).toMatchObject({ kind: "blocked", rule: "block-unproven", verdict: { state: "clear" } });
    }
    await Bun.sleep(50); // Redis notes the bound in the operators' list beside the refusal
    const listed = await store().bounded(must(pump.bounds, "bounds"));
    expect(listed.filter((b) => b.prefix.startsWith(block.slice(0, -2)))).toEqual([
      { prefix: block, range: false, unproven: 3 },
    ]);
    // Another block of the range is not bounded by this one.
    const neighbour = `${block.slice(0, -2)}99`;
    expect((await sendTo(store(), `${neighbour}001`, pump)).kind).toBe("admitted");
  });

  test("unproven bounds: a verified code gives back its own send's place, one place, in its block and range", async () => {
    const block = freshBlock();
    const pump = check(block, { block: 3, range: 4 });
    const sent = [];
    for (let i = 1; i <= 3; i++) sent.push(await sendTo(store(), `${block}00${i}`, pump));
    expect((await sendTo(store(), `${block}004`, pump)).kind).toBe("blocked");
    await verify(store(), must(sent[0], "a send"), `${block}001`, pump);
    // One place back: one more send, then the bound again.
    expect((await sendTo(store(), `${block}005`, pump)).kind).toBe("admitted");
    expect((await sendTo(store(), `${block}006`, pump)).kind).toBe("blocked");
    // The range counts the same sends: 3 of its 4 held, one more of a neighbour, then its rule.
    const neighbour = `${block.slice(0, -2)}98`;
    expect((await sendTo(store(), `${neighbour}001`, pump)).kind).toBe("admitted");
    expect(await sendTo(store(), `${neighbour}002`, pump)).toMatchObject({
      kind: "blocked",
      rule: "range-unproven",
    });
    // Another verified code: one more place, not two.
    await verify(store(), must(sent[1], "a send"), `${block}002`, pump);
    expect((await sendTo(store(), `${neighbour}003`, pump)).kind).toBe("admitted");
    expect((await sendTo(store(), `${neighbour}004`, pump)).kind).toBe("blocked");
  });

  test("unproven bounds: places come back as their sends leave the window, bucket by bucket", async () => {
    const block = freshBlock();
    // A window of 1.2 s, in buckets of 100 ms.
    const pump = {
      ...check(block, { block: 3, range: 100 }),
      bounds: bounds({ block: 3, range: 100 }, 1_200),
    };
    const send = (n: number) => sendTo(store(), `${block}${String(n).padStart(3, "0")}`, pump);
    const kinds = async (from: number, to: number) => {
      const out = [];
      for (let n = from; n <= to; n++) out.push((await send(n)).kind);
      return out;
    };
    expect(await kinds(1, 2)).toEqual(["admitted", "admitted"]);
    await Bun.sleep(700);
    const third = await send(3);
    expect(third.kind).toBe("admitted");
    expect(await kinds(4, 4)).toEqual(["blocked"]);
    // The first two left the window (1.4 s on), the third has not: two places back, no more.
    await Bun.sleep(700);
    expect(await kinds(5, 7)).toEqual(["admitted", "admitted", "blocked"]);
    // A verified code gives its place back after older buckets were dropped.
    await verify(store(), third, `${block}003`, pump);
    expect(await kinds(8, 9)).toEqual(["admitted", "blocked"]);
    // Every send left the window: the whole bound again.
    await Bun.sleep(1_400);
    expect(await kinds(10, 13)).toEqual(["admitted", "admitted", "admitted", "blocked"]);
  });

  test("unproven bounds: exact under concurrency, 50 parallel sends to one block through two gateways admit its 10", async () => {
    const block = freshBlock();
    const pump = check(block, { block: 10, range: 100 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        sendTo(i % 2 ? store() : second(), `${block}${String(i).padStart(3, "0")}`, pump),
      ),
    );
    expect(results.filter((r) => r.kind === "admitted")).toHaveLength(10);
    expect(results.filter((r) => r.kind === "blocked")).toHaveLength(40);
  });

  test("returning users: a number that verified is served at its block's bound and while its block is blocked, and takes no place", async () => {
    const block = freshBlock();
    const returning: ReturningPolicy = { windowMs: 60_000 };
    const pump = check(block, { block: 2, range: 100 });
    const user = `${block}500`;
    await verify(store(), await sendTo(store(), user, pump, { returning }), user, pump, returning);
    for (const n of ["001", "002"])
      expect((await sendTo(store(), `${block}${n}`, pump, { returning })).kind).toBe("admitted");
    expect((await sendTo(store(), `${block}003`, pump, { returning })).kind).toBe("blocked");
    for (let i = 0; i < 3; i++) {
      expect(await sendTo(store(), user, pump, { returning })).toMatchObject({
        kind: "admitted",
        proven: true,
      });
    }
    await Bun.sleep(50); // Redis notes the bound in the operators' list beside the refusal
    const listed = await store().bounded(must(pump.bounds, "bounds"));
    expect(listed.find((b) => b.prefix === block)?.unproven).toBe(2);
    // The block blocked on its conversion: new numbers are refused, the returning user is not.
    const quick: PumpingPolicy = { ...QUICK, minSends: 3 };
    for (let i = 0; i < 3; i++) await countSent(store(), block, quick);
    await Bun.sleep(60);
    const blocked = { prefix: block, policy: quick };
    expect(await sendTo(store(), `${block}010`, blocked, { returning })).toMatchObject({
      kind: "blocked",
      rule: "block",
    });
    expect(await sendTo(store(), user, blocked, { returning })).toMatchObject({
      kind: "admitted",
      proven: true,
    });
    // Another number of the block is not proven by its neighbour's code.
    expect((await sendTo(store(), `${block}501`, blocked, { returning })).kind).toBe("blocked");
  });

  test("monitor mode: the bounds refuse nothing and name the rule that would have", async () => {
    const block = freshBlock();
    const pump = check(block, { block: 2, range: 100 }, "monitor");
    const results = [];
    for (let i = 1; i <= 4; i++) results.push(await sendTo(store(), `${block}00${i}`, pump));
    expect(results.map((r) => r.kind)).toEqual(["admitted", "admitted", "admitted", "admitted"]);
    expect(results.map((r) => (r.kind === "admitted" ? r.monitored : r.kind))).toEqual([
      undefined,
      undefined,
      "block-unproven",
      "block-unproven",
    ]);
  });

  test("a send that did not go out, or may not have, counts toward no bound and no conversion", async () => {
    const block = freshBlock();
    const policy: PumpingPolicy = { ...QUICK, minSends: 3 };
    const pump: PumpCheck = { prefix: block, policy, bounds: bounds({ block: 3, range: 6 }) };
    // An upstream outage: 20 attempts, each cancelled (refused) or released (5xx, timeout).
    for (let i = 0; i < 20; i++) {
      const admission = await sendTo(store(), `${block}${String(i).padStart(3, "0")}`, pump);
      if (admission.kind !== "admitted") throw new Error(`attempt ${i}: ${admission.kind}`);
      await (i % 2 ? store().release(admission.ticket) : store().cancel(admission.ticket));
    }
    await Bun.sleep(60);
    // Back up: the block has its whole bound, and no conversion judged it.
    for (let i = 0; i < 3; i++) {
      expect((await sendTo(store(), `${block}9${i}0`, pump)).kind).toBe("admitted");
    }
    expect(await sendTo(store(), `${block}999`, pump)).toMatchObject({
      kind: "blocked",
      rule: "block-unproven",
    });
  });

  test("a safe-listed block's sends count nowhere: not in its own bound, not in its range's", async () => {
    const block = freshBlock();
    const pump = check(block, { block: 2, range: 3 });
    await store().addToSafeList({ prefix: block });
    for (let i = 0; i < 6; i++) {
      expect((await sendTo(store(), `${block}${String(i).padStart(3, "0")}`, pump)).kind).toBe("admitted");
    }
    // Its range's three places are all there for its neighbours.
    const neighbour = (k: number) => `${block.slice(0, -2)}9${k}`;
    for (let k = 0; k < 3; k++)
      expect((await sendTo(store(), `${neighbour(k)}001`, pump)).kind).toBe("admitted");
    expect((await sendTo(store(), `${neighbour(3)}001`, pump)).kind).toBe("blocked");
  });

  test("keyed retries: a key's failed sends are retried as often as it may be, then it is spent; a cancelled send is no retry", async () => {
    const phone = `${freshBlock()}001`;
    const key = keyClaim(`retry-${crypto.randomUUID()}`, 5_000, 2);
    const event = `idem:${key.key}`;
    const attempts = [];
    for (let i = 0; i < 3; i++) {
      const admission = await sendWithKey(store(), phone, event, key, []);
      attempts.push(admission.kind === "admitted" ? admission.retry : admission.kind);
      if (admission.kind === "admitted") await store().release(admission.ticket);
    }
    expect(attempts).toEqual([false, true, true]);
    expect((await sendWithKey(store(), phone, event, key, [])).kind).toBe("retries_spent");
    // Another phone with the same key, of its range or another: the key is still the first's.
    const sibling = `${phone.slice(0, -5)}99002`;
    for (const other of [sibling, `${freshBlock()}001`]) {
      expect((await sendWithKey(store(), other, event, key, [])).kind).toBe("conflict");
    }
    // A send taken back (nothing went out) leaves no retry behind: the next one is a first send.
    const fresh = keyClaim(`cancel-${crypto.randomUUID()}`, 5_000, 0);
    const other = `${freshBlock()}002`;
    for (let i = 0; i < 3; i++) {
      const admission = await sendWithKey(store(), other, `idem:${fresh.key}`, fresh, []);
      expect(admission).toMatchObject({ kind: "admitted", retry: false });
      if (admission.kind === "admitted") await store().cancel(admission.ticket);
    }
  });

  test("keyed retries: a retry taken back (its upstream refused it, or its caller left) counts still", async () => {
    const phone = `${freshBlock()}001`;
    const key = keyClaim(`taken-${crypto.randomUUID()}`, 5_000, 2);
    const event = `idem:${key.key}`;
    const first = await sendWithKey(store(), phone, event, key, []);
    if (first.kind !== "admitted") throw new Error(first.kind);
    await store().release(first.ticket);
    for (let i = 0; i < 2; i++) {
      const retry = await sendWithKey(store(), phone, event, key, []);
      expect(retry).toMatchObject({ kind: "admitted", retry: true });
      if (retry.kind === "admitted") await store().cancel(retry.ticket);
    }
    expect((await sendWithKey(store(), phone, event, key, [])).kind).toBe("retries_spent");
  });

  test("keyed retries: charged again once the first charge has left the budgets' shortest window, never past the budget", async () => {
    const phone = `${freshBlock()}001`;
    const key = keyClaim(`charge-${crypto.randomUUID()}`, 5_000, 5);
    const event = `idem:${key.key}`;
    const budget = sendBudget(`K${process.pid % 1000}-${scopes++}`, [
      { limit: 2, windowMs: 400, bucketMs: 10, label: "2/400ms" },
    ]);
    const first = await sendWithKey(store(), phone, event, key, [budget]);
    if (first.kind !== "admitted") throw new Error(first.kind);
    await store().release(first.ticket);
    // At once: the first charge holds for the retry.
    const soon = await sendWithKey(store(), phone, event, key, [budget]);
    expect(soon).toMatchObject({ kind: "admitted", retry: true });
    expect(soon.kind === "admitted" && soon.recharged).toBeFalsy();
    if (soon.kind === "admitted") await store().release(soon.ticket);
    expect((await store().budgetUse(budget)).used).toEqual([1]);
    // Past the window, with the budget spent by others: the retry is charged again, and refused.
    await Bun.sleep(450);
    for (const n of ["+917000000001", "+917000000002"]) {
      expect((await sendWithKey(store(), n, crypto.randomUUID(), undefined, [budget])).kind).toBe("admitted");
    }
    expect((await sendWithKey(store(), phone, event, key, [budget])).kind).toBe("over_budget");
    // Once the budget frees, the retry is charged again and goes.
    await Bun.sleep(450);
    const later = await sendWithKey(store(), phone, event, key, [budget]);
    expect(later).toMatchObject({ kind: "admitted", retry: true, recharged: true });
    expect((await store().budgetUse(budget)).used).toEqual([1]);
    // Charged again, it is the charge the next retry counts from.
    if (later.kind === "admitted") await store().release(later.ticket);
    const again = await sendWithKey(store(), phone, event, key, [budget]);
    expect(again.kind === "admitted" && again.recharged).toBeFalsy();
  });

  test("the reserve: new numbers use a budget's open share; returning users the rest; a full budget stops all", async () => {
    const block = freshBlock();
    const returning: ReturningPolicy = { windowMs: 60_000 };
    const budget = reserved(4, 0.5);
    const user = `${block}500`;
    const first = await sendTo(store(), user, undefined, { returning, budgets: [budget] });
    await verify(store(), first, user, undefined, returning);
    expect((await sendTo(store(), `${block}001`, undefined, { returning, budgets: [budget] })).kind).toBe(
      "admitted",
    );
    const open = await sendTo(store(), `${block}002`, undefined, { returning, budgets: [budget] });
    expect(open).toMatchObject({ kind: "over_budget", proven: false });
    expect(await sendTo(store(), user, undefined, { returning, budgets: [budget] })).toMatchObject({
      kind: "admitted",
      proven: true,
    });
    expect((await sendTo(store(), user, undefined, { returning, budgets: [budget] })).kind).toBe("admitted");
    expect(await sendTo(store(), user, undefined, { returning, budgets: [budget] })).toMatchObject({
      kind: "over_budget",
      proven: true,
    });
    expect((await store().budgetUse(budget)).used).toEqual([4]);
  });
}

/** The guard's policy for these tests: enforce, 10 ms buckets, codes that live 20 ms, long blocks. */
const QUICK: PumpingPolicy = {
  mode: "enforce",
  dropDigits: 3,
  rangeDropDigits: 5,
  windowMs: 600,
  bucketMs: 10,
  maturityMs: 20,
  minSends: 1_000,
  minConversion: 0.5,
  blockMs: 60_000,
  blockMaxMs: 60_000,
  safeList: [],
};

let blocks = 0;
/** A block in a range of its own (ranges are 100 blocks), so tests can share one Redis. */
const freshBlock = () =>
  `+917${String(process.pid % 1000).padStart(3, "0")}${String(blocks++ % 1000).padStart(3, "0")}10`;

const bounds = (b: { block: number; range: number }, windowMs = 60_000): UnprovenBounds =>
  must(unprovenBounds(b.block, b.range, windowMs), "bounds");

const check = (
  block: string,
  b: { block: number; range: number },
  mode: PumpingPolicy["mode"] = "enforce",
): PumpCheck => ({
  prefix: block,
  policy: { ...QUICK, mode },
  bounds: bounds(b),
});

let scopes = 0;
/** A budget of one window of `limit` an hour, under a scope no other test uses, with its reserve. */
const reserved = (limit: number, reserve: number): SendBudget =>
  sendBudget(
    `R${process.pid % 1000}-${scopes++}`,
    [{ limit, windowMs: 3_600_000, bucketMs: 60_000, label: `${limit}/1h` }],
    reserve,
  );

/** A keyed send (the event named after its key, as the service names it), or one without a key. */
function sendWithKey(
  store: OtpStore,
  phone: string,
  event: string,
  key: KeyClaim | undefined,
  budgets: readonly SendBudget[],
): Promise<Admission> {
  return store.admit({ kind: "sms", phone, event, window: WIDE, ...(key ? { key } : {}), budgets });
}

/** A send to `phone`, its block checked by `pump` (the phone's own block; none: the guard is off). */
function sendTo(
  store: OtpStore,
  phone: string,
  pump: PumpCheck | undefined,
  extra: { returning?: ReturningPolicy; budgets?: readonly SendBudget[] } = {},
): Promise<Admission> {
  return store.admit({
    kind: "sms",
    phone,
    event: crypto.randomUUID(),
    window: WIDE,
    ...(pump ? { pump: { ...pump, prefix: phone.slice(0, -pump.policy.dropDigits) } } : {}),
    ...(extra.returning ? { returning: extra.returning } : {}),
    budgets: extra.budgets ?? [],
  });
}

/**
 * The send behind `admission` went out and its code is verified, as the service does it: its
 * record, the check that finds which bucket it was unproven in, the first claim, the guard's count.
 */
async function verify(
  store: OtpStore,
  admission: Admission,
  phone: string,
  pump: PumpCheck | undefined,
  returning?: ReturningPolicy,
): Promise<void> {
  if (admission.kind !== "admitted") throw new Error(`not sent: ${admission.kind}`);
  const id = { tag: await store.phoneTag(phone), inner: `otp_${crypto.randomUUID()}` };
  await store.record(admission.ticket, sentCode(id, 60_000, { answer: "{}" }));
  const start = await store.beginVerify(id, 3);
  if (start.state !== "ok") throw new Error(`verify: ${start.state}`);
  expect(await store.claimVerified(id)).toBe(true);
  await store.countVerified({
    phone,
    ...(pump ? { pump: { prefix: phone.slice(0, -pump.policy.dropDigits), policy: pump.policy } } : {}),
    ...(start.unproven !== undefined ? { unproven: start.unproven } : {}),
    ...(returning ? { returning } : {}),
  });
}
