import { describe, expect, test } from "bun:test";
import { defaultPumpingPolicy } from "../support/harness";

describe("country watch", () => {
  test("a country whose judged sends convert under half is under attack: its blocks need a quarter of the sends", async () => {
    const { CountryWatch } = await import("../../src/domain/pumping");
    let now = 1_000_000;
    const policy = defaultPumpingPolicy(); // 20 judged sends, 1-minute buckets, 5-minute codes
    const watch = new CountryWatch(policy, () => now);
    for (let i = 0; i < 100; i++) watch.count("IN", "sent");
    for (let i = 0; i < 60; i++) watch.count("IN", "verified");
    for (let i = 0; i < 100; i++) watch.count("AE", "sent");
    for (let i = 0; i < 10; i++) watch.count("AE", "verified");
    expect(watch.policyFor("AE").minSends).toBe(20); // fresh sends are not judged yet
    now += 7 * 60_000;
    expect(watch.policyFor("IN").minSends).toBe(20); // 60 % verified: normal
    expect(watch.policyFor("AE").minSends).toBe(5); // 10 %: under attack
    now += 20 * 60_000;
    expect(watch.policyFor("AE").minSends).toBe(20); // only recent sends count: the attack is over
    expect(watch.policyFor("US")).toBe(policy); // nothing seen
  });
});
