import { describe, expect, test } from "bun:test";
import { MemoryStore } from "../../../src/adapters/store/memory/index";
import { type PumpingPolicy, unprovenBounds } from "../../../src/domain/pumping";
import { ratePolicy } from "../../../src/domain/rate-policy";
import type { SendBudget } from "../../../src/domain/send-budget";
import { budgetOf, limitsOf, must } from "../../support/given";
import { storeBehaviour } from "../../support/store-behaviour";
import {
  admitTo,
  budgetsOf,
  countSent,
  countVerified,
  judgePrefix,
  reserve,
  verdictOf,
} from "../../support/store-steps";

storeBehaviour("memory", async () => new MemoryStore());

describe("memory store: sends it refuses take no place in its bounded maps", () => {
  // Blocks of 10 s, judged on sends whose codes lived 100 ms.
  const PUMPING: PumpingPolicy = {
    mode: "enforce",
    dropDigits: 3,
    rangeDropDigits: 5,
    windowMs: 60_000,
    bucketMs: 10,
    maturityMs: 100,
    minSends: 5,
    minConversion: 0.5,
    blockMs: 10_000,
    blockMaxMs: 10_000,
    safeList: [],
  };
  const oneAnHour = ratePolicy("phone", limitsOf("1/1h"));
  /** Blocks `prefix`: six sends whose codes are never verified, judged once they have matured. */
  async function block(store: MemoryStore, prefix: string, policy: PumpingPolicy): Promise<void> {
    for (let i = 0; i < 6; i++) await countSent(store, prefix, policy);
    await Bun.sleep(130);
    expect((await judgePrefix(store, prefix, `${prefix}123`, policy)).state).toBe("newly_blocked");
  }

  test("3 × its size in budget-refused sends to fresh numbers and prefixes reset no phone window and lift no block", async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const victim = "+919812399999";
    expect((await admitTo(store, victim, oneAnHour, crypto.randomUUID())).kind === "admitted").toBe(true);
    const blocked = "+919812345";
    await block(store, blocked, PUMPING);
    // A budget already spent refuses every send below, after the windows and the prefix were asked.
    const spent = { ...budgetOf("*=1/1h"), scope: "spent" };
    expect((await reserve(store, spent)).allowed).toBe(true);
    for (let i = 0; i < 300; i++) {
      const phone = `+9177${String(i * 1000).padStart(8, "0")}`;
      const admission = await admitTo(store, phone, oneAnHour, crypto.randomUUID(), {
        budgets: [spent],
        pump: { prefix: phone.slice(0, -3), policy: PUMPING },
      });
      expect(budgetsOf(admission)[0]?.allowed).toBe(false);
      expect(admission.kind).toBe("over_budget"); // nothing recorded
    }
    expect((await admitTo(store, victim, oneAnHour, crypto.randomUUID())).kind === "limited").toBe(true);
    expect((await judgePrefix(store, blocked, `${blocked}123`, PUMPING)).state).toBe("blocked");
  });

  test("with its pumping map full, a budget-refused send to a fresh prefix pushes out nothing, not the oldest block", async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const blocked = "+919812345";
    await block(store, blocked, PUMPING);
    // 97 sends that go out, each to a block of its own in one range: with the blocked block and
    // its range, the map holds 100 records, and the block is the oldest.
    const open = { ...budgetOf("*=1000/1h"), scope: "open" };
    const pump = (phone: string) => ({ prefix: phone.slice(0, -3), policy: PUMPING });
    for (let i = 0; i < 97; i++) {
      const phone = `+9176000${String(i).padStart(2, "0")}000`;
      const admission = await admitTo(store, phone, oneAnHour, crypto.randomUUID(), {
        budgets: [open],
        pump: pump(phone),
      });
      expect(admission).toMatchObject({ kind: "admitted", decision: { recorded: true } });
    }
    const spent = { ...budgetOf("*=1/1h"), scope: "spent" };
    await reserve(store, spent);
    const refused = await admitTo(store, "+917799999999", oneAnHour, crypto.randomUUID(), {
      budgets: [spent],
      pump: pump("+917799999999"),
    });
    expect(budgetsOf(refused)[0]?.allowed).toBe(false);
    expect((await judgePrefix(store, blocked, `${blocked}123`, PUMPING)).state).toBe("blocked");
  });

  test("a block outlives a full map: 3 × its size in sends, gone out or taken back, do not push it out", async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const blocked = "+919812345";
    await block(store, blocked, PUMPING);
    const open = { ...budgetOf("*=100000/1h"), scope: "open" };
    for (let i = 0; i < 300; i++) {
      const phone = `+9174${String(i * 1000).padStart(8, "0")}`;
      const prefix = phone.slice(0, -3);
      const admission = await admitTo(store, phone, oneAnHour, crypto.randomUUID(), {
        budgets: [open],
        pump: { prefix, policy: PUMPING },
      });
      // Every other one the upstream refused (400): its count is taken back.
      expect(verdictOf(admission)?.counted).toBeNumber();
      if (i % 2 && admission.kind === "admitted") await store.cancel(admission.ticket);
    }
    expect((await judgePrefix(store, blocked, `${blocked}123`, PUMPING)).state).toBe("blocked");
    expect((await store.blocks()).map((b) => b.prefix)).toContain(blocked);
  });

  test("a block pushed out of the counts keeps its time: a safe-list removal or a late count does not cut it short", async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const short = { ...PUMPING, windowMs: 1_000 }; // counts are kept about 1.6 s; the block lasts 10
    const blocked = "+919812345";
    await block(store, blocked, short);
    for (let i = 0; i < 150; i++) {
      await countSent(store, `+9173${String(i * 1000).padStart(5, "0")}`, short);
    }
    await store.removeFromSafeList({ prefix: blocked, number: `${blocked}999` }); // a number never listed
    await countVerified(store, blocked, short); // a code sent before the block, verified now
    await Bun.sleep(1_700);
    expect((await judgePrefix(store, blocked, `${blocked}123`, short)).state).toBe("blocked");
  });

  test("sends refused by a blocked range push no other prefix's counts out of a full map", async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const victim = "+919900000";
    for (let i = 0; i < 4; i++) await countSent(store, victim, PUMPING); // the oldest record
    for (let i = 0; i < 2; i++) await countVerified(store, "+919900010", PUMPING); // keeps its range open
    // Four unverified sends to each of 7 blocks of a range: 28 judged, past the range's 25.
    for (let i = 0; i < 28; i++) await countSent(store, `+91981234${i % 7}`, PUMPING);
    await Bun.sleep(130);
    expect((await judgePrefix(store, "+919812349", "+919812349123", PUMPING)).state).toBe("newly_blocked");
    // Other records until the map is full (11 so far, 88 blocks and their range), then sends a
    // blocked range refuses, to a fresh block of it.
    for (let i = 0; i < 88; i++) {
      await countSent(store, `+9177000${String(i).padStart(2, "0")}`, PUMPING);
    }
    for (let i = 0; i < 5; i++) {
      expect(await judgePrefix(store, "+919812300", "+919812300555", PUMPING)).toMatchObject({
        state: "blocked",
        range: true,
      });
    }
    // The victim's four unverified sends are still there: a fifth makes it a block.
    await countSent(store, victim, PUMPING);
    await Bun.sleep(130);
    expect((await judgePrefix(store, victim, `${victim}123`, PUMPING)).state).toBe("newly_blocked");
  });

  test("a block at its bound on unproven sends stays at it while refused sends flood a full map", async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const bounds = must(unprovenBounds(3, 4, 60_000), "bounds");
    const send = (phone: string, budgets: SendBudget[] = []) =>
      admitTo(store, phone, oneAnHour, crypto.randomUUID(), {
        budgets,
        pump: { prefix: phone.slice(0, -3), policy: PUMPING, bounds },
      });
    const attacked = "+919812345";
    for (let i = 0; i < 3; i++) expect((await send(`${attacked}00${i}`)).kind).toBe("admitted");
    expect(await send(`${attacked}100`)).toMatchObject({ kind: "blocked", rule: "block-unproven" });
    // 3 × the map's size: sends its range's bound refuses, and sends a spent budget refuses.
    expect((await send("+919812399001")).kind).toBe("admitted"); // the range's fourth
    const spent = { ...budgetOf("*=1/1h"), scope: "spent-bounds" };
    expect((await reserve(store, spent)).allowed).toBe(true);
    for (let i = 0; i < 150; i++) {
      expect(
        await send(`+9198123${String(i % 100).padStart(2, "0")}${String(i).padStart(3, "0")}`),
      ).toMatchObject({
        kind: "blocked",
      });
      expect((await send(`+9177${String(i * 1000).padStart(8, "0")}`, [spent])).kind).toBe("over_budget");
    }
    expect(await send(`${attacked}200`)).toMatchObject({ kind: "blocked", rule: "block-unproven" });
    expect((await store.bounded(bounds)).map((b) => b.prefix)).toContain(attacked);
  });

  test("a send taken back after the upstream refused it leaves no window behind", async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const victim = "+919812399999";
    expect((await admitTo(store, victim, oneAnHour, crypto.randomUUID())).kind === "admitted").toBe(true);
    for (let i = 0; i < 300; i++) {
      const phone = `+9175${String(i * 1000).padStart(8, "0")}`;
      const member = crypto.randomUUID();
      const admission = await admitTo(store, phone, oneAnHour, member);
      expect(admission).toMatchObject({ kind: "admitted", decision: { recorded: true } });
      if (admission.kind === "admitted") await store.cancel(admission.ticket); // the upstream answered 400: nothing went out
    }
    expect((await admitTo(store, victim, oneAnHour, crypto.randomUUID())).kind === "limited").toBe(true);
  });
});
