// The traffic of the pumping benchmark (bench/pumping.ts): legitimate users and three attacks, made
// from a seeded generator so that every run and every mode sees the same requests at the same times.

import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { seededRandom } from "../scripts/lib/local";

export type Actor = "legit" | "A" | "B" | "C";

/** One send the driver makes at `at` (ms of real time from the start), from `ip`, to `phone`. */
export interface PlannedSend {
  at: number;
  actor: Actor;
  phone: string;
  ip: string;
  /** Legitimate users: ms after the answer to verify (undefined: never verifies). */
  verifyAfter?: number;
  /** Legitimate users: ms after the answer to ask for a new code, then verify that one. */
  resendAfter?: number;
}

export interface SimShape {
  /** Simulated time per real second: durations of the gateway are divided by this. */
  compression: number;
  simHours: number;
  users: number;
  /** Simulated minutes after the start when the attacks begin. */
  attackStartMin: number;
  /** Requests per real second of attacks A, B and C. */
  rates: { A: number; B: number; C: number };
}

export function plan(shape: SimShape, seed = 42): PlannedSend[] {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const simMs = (simSeconds: number) => (simSeconds * 1000) / shape.compression;
  const durationMs = simMs(shape.simHours * 3600);
  const sends: PlannedSend[] = [];
  const used = new Set<string>();

  // Legitimate users: mobiles spread over the whole Indian plan (a 1 000-number block sees one now and then).
  const mobile = (): string => {
    for (;;) {
      const phone = `+91${6 + int(4)}${String(int(1e9)).padStart(9, "0")}`;
      if (!used.has(phone) && parsePhoneNumberFromString(phone)?.getType() === "MOBILE") {
        used.add(phone);
        return phone;
      }
    }
  };
  // 30 % behind carrier-grade NAT (40 egress addresses in 4 /24s), 20 % on IPv6 (own /64), the rest own IPv4.
  const address = (): string => {
    const kind = rnd();
    if (kind < 0.3) return `49.36.${10 + int(4)}.${1 + int(10)}`;
    if (kind < 0.5) {
      return `2401:4900:${int(65_536).toString(16)}:${int(65_536).toString(16)}::${1 + int(1000)}`;
    }
    return `${11 + int(180)}.${int(256)}.${int(256)}.${1 + int(254)}`;
  };
  for (let u = 0; u < shape.users; u++) {
    const verifies = rnd() >= 0.05; // a few never verify
    sends.push({
      at: rnd() * durationMs,
      actor: "legit",
      phone: mobile(),
      ip: address(),
      // Most verify within a minute; some ask for a new code first.
      verifyAfter: verifies ? simMs(5 + rnd() * 55) : undefined,
      resendAfter: verifies && rnd() < 0.1 ? simMs(90) : undefined,
    });
  }

  // The attacks: fresh numbers in a few operator blocks, never verified.
  const start = simMs(shape.attackStartMin * 60);
  const attack = (actor: Exclude<Actor, "legit">, blocks: string[], ipOf: (n: number) => string) => {
    const rate = shape.rates[actor];
    for (let n = 0, at = start; at < durationMs; n++, at = start + (n * 1000) / rate) {
      const block = blocks[n % blocks.length];
      if (block === undefined) throw new Error(`attacker ${actor} has no blocks to send to`);
      const phone = `${block}${String(Math.floor(n / blocks.length) % 1000).padStart(3, "0")}`;
      sends.push({ at, actor, phone, ip: ipOf(n) });
    }
  };
  // A: one IPv6 /48, a new /64 for every send, three blocks.
  attack(
    "A",
    ["+919820101", "+919820102", "+919820103"],
    (n) => `2001:db8:a77a:${(n % 65_536).toString(16)}::1`,
  );
  // B: thousands of IPv4 addresses all over, twenty blocks of one operator.
  const bBlocks = Array.from({ length: 20 }, (_, i) => `+9198765${10 + i}`);
  attack("B", bBlocks, () => `${11 + int(180)}.${int(256)}.${int(256)}.${1 + int(254)}`);
  // C: slow, under every per-address limit: 200 addresses in 200 /24s take turns.
  attack(
    "C",
    ["+919930101", "+919930102", "+919930103", "+919930104", "+919930105"],
    (n) => `203.${n % 200}.7.9`,
  );
  return sends.sort((a, b) => a.at - b.at);
}
