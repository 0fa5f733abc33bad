import { describe, expect, test } from "bun:test";
import { seededRandom } from "../../../scripts/lib/local";
import { MemoryStore } from "../../../src/adapters/store/memory/index";
import type { Admission, PumpCheck } from "../../../src/adapters/store/port";
import { type PumpingPolicy, unprovenBounds } from "../../../src/domain/pumping";
import { must } from "../../support/given";
import { sentCode, WIDE } from "../../support/store-steps";

/**
 * The bounds on unproven sends over hours of traffic, on a simulated clock (the memory store
 * takes one): real users of one block are served in full as long as they verify, and an
 * attacker who reads some codes gets one send per code read, no more.
 */
const POLICY: PumpingPolicy = {
  mode: "enforce",
  dropDigits: 3,
  rangeDropDigits: 5,
  windowMs: 86_400_000,
  bucketMs: 24_000,
  maturityMs: 300_000,
  minSends: 1_000_000, // the conversion judgement out of the way: the bounds alone
  minConversion: 0.2,
  blockMs: 43_200_000,
  blockMaxMs: 604_800_000,
  safeList: [],
};
const PUMP: PumpCheck = {
  prefix: "+919811100",
  policy: POLICY,
  bounds: must(unprovenBounds(10, 30, 3_600_000), "bounds"),
};

type Event =
  | { at: number; kind: "send"; phone: string; verifyAfter?: number }
  | { at: number; kind: "verify"; phone: string; admission: Admission };

/**
 * Plays sends (and their verifies, when they come) in time order on one store; what each send came
 * to. `readEvery`: the sender verifies only every n-th code it gets (an attacker who reads a few).
 */
async function play(
  sends: { at: number; phone: string; verifyAfter?: number }[],
  readEvery = 1,
): Promise<Admission["kind"][]> {
  let clock = 1_000_000;
  const store = new MemoryStore({ now: () => clock });
  const queue: Event[] = sends.map((s) => ({ ...s, kind: "send" as const }));
  const kinds: Admission["kind"][] = [];
  while (queue.length > 0) {
    queue.sort((a, b) => a.at - b.at);
    const event = must(queue.shift(), "an event");
    clock = 1_000_000 + event.at;
    if (event.kind === "send") {
      const admission = await store.admit({
        kind: "sms",
        phone: event.phone,
        event: crypto.randomUUID(),
        window: WIDE,
        pump: PUMP,
        budgets: [],
      });
      kinds.push(admission.kind);
      const got = kinds.filter((k) => k === "admitted").length;
      if (admission.kind === "admitted" && event.verifyAfter !== undefined && got % readEvery === 0) {
        queue.push({ at: event.at + event.verifyAfter, kind: "verify", phone: event.phone, admission });
      }
    } else if (event.admission.kind === "admitted") {
      const id = { tag: store.phoneTag(event.phone), inner: `otp_${crypto.randomUUID()}` };
      await store.record(event.admission.ticket, sentCode(id, 300_000));
      const start = await store.beginVerify(id, 3);
      if (start.state !== "ok") throw new Error(start.state);
      await store.claimVerified(id);
      await store.countVerified({
        phone: event.phone,
        pump: { prefix: PUMP.prefix, policy: POLICY },
        unproven: start.unproven,
      });
    }
  }
  return kinds;
}

const phoneOf = (n: number) => `${PUMP.prefix}${String(n % 1000).padStart(3, "0")}`;

describe("unproven bounds over hours of traffic (simulated clock)", () => {
  test("a popular block, 40 new users an hour for 6 hours, 90 % verifying within a minute: all served", async () => {
    const rnd = seededRandom(3);
    const sends = Array.from({ length: 240 }, (_, n) => ({
      at: rnd() * 6 * 3_600_000,
      phone: phoneOf(n),
      verifyAfter: rnd() < 0.9 ? 5_000 + rnd() * 55_000 : undefined,
    }));
    const kinds = await play(sends);
    expect(kinds.filter((k) => k !== "admitted")).toEqual([]);
  });

  test("30 new users of one block in a minute, each verifying within 20 s: all served", async () => {
    const rnd = seededRandom(5);
    const sends = Array.from({ length: 30 }, (_, n) => ({
      at: n * 2_000,
      phone: phoneOf(n),
      verifyAfter: 5_000 + rnd() * 15_000,
    }));
    expect((await play(sends)).every((k) => k === "admitted")).toBe(true);
  });

  test("an attacker reading one code in ten, for 3 hours at one send a second: 10 an hour and one per code read", async () => {
    const sends = Array.from({ length: 3 * 3_600 }, (_, n) => ({
      at: n * 1_000,
      phone: phoneOf(n),
      verifyAfter: 2_000,
    }));
    const kinds = await play(sends, 10);
    const admitted = kinds.filter((k) => k === "admitted").length;
    // Each hour: the bound's 10, plus one for each code read of those (1 in 10 of what got through).
    expect(admitted).toBeGreaterThanOrEqual(30);
    expect(admitted).toBeLessThanOrEqual(3 * 13);
  });
});
