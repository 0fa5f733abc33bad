import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LRUCache } from "lru-cache";
import { type IpScope, LruIpLimiter, type LruIpLimiterOptions } from "../../src/adapters/limits/ip-limiter";
import { addressBuckets, ipv4Number } from "../../src/domain/address-buckets";
import { ratePolicy } from "../../src/domain/rate-policy";
import { decide, parseLimits } from "../../src/domain/rate-window";
import { TimestampLru } from "../../src/lib/timestamp-lru";

/** FC_RUNS raises it for a long run. */
const RUNS = Number(process.env.FC_RUNS ?? 300);

/** What each log must behave as: a number[] that is pushed to and trimmed past twice `keep`. */
function pushTrimmed(log: number[], now: number, keep: number): number[] {
  const next = [...log, now];
  return next.length > 2 * keep ? next.slice(next.length - keep) : next;
}

describe("TimestampLru", () => {
  test("logs of one, two and many timestamps read back oldest first, trimmed like a number[]", () => {
    const lru = new TimestampLru<string>(10);
    let model: number[] = [];
    for (let t = 1; t <= 40; t++) {
      expect(lru.read("a", [])).toEqual(model);
      lru.append("a", model, t, 5);
      model = pushTrimmed(model, t, 5);
    }
    // Past 2 × keep = 10 it keeps the newest 5, then grows to 10 again.
    expect(lru.read("a", [])).toEqual(model);
    expect(model.length).toBeLessThanOrEqual(10);
    expect(lru.read("absent", [7, 8])).toEqual([]);
  });

  test("grows with use up to its capacity, then the least recently read or appended entry goes first", () => {
    const lru = new TimestampLru<number>(3000);
    for (let key = 0; key < 3000; key++) lru.append(key, [], key, 1);
    expect(lru.size).toBe(3000);
    // Reading 0 makes it the most recent: 1 goes next, then 2.
    expect(lru.read(0, [])).toEqual([0]);
    lru.append(3000, [], 3000, 1);
    lru.append(3001, [], 3001, 1);
    expect(lru.size).toBe(3000);
    expect(lru.read(1, [])).toEqual([]);
    expect(lru.read(2, [])).toEqual([]);
    expect(lru.read(0, [])).toEqual([0]);
    expect(lru.read(3001, [])).toEqual([3001]);
  });

  test("a number key and the same digits as a string are two entries", () => {
    const lru = new TimestampLru<string | number>(4);
    lru.append(1, [], 10, 5);
    lru.append("1", [], 20, 5);
    expect(lru.read(1, [])).toEqual([10]);
    expect(lru.read("1", [])).toEqual([20]);
  });

  test("an entry evicted between its read and its append comes back with the log it was read with", () => {
    const lru = new TimestampLru<string>(1);
    lru.append("a", [], 1, 5);
    const a = [...lru.read("a", [])];
    lru.append("b", [], 2, 5);
    lru.append("a", a, 3, 5);
    expect(lru.read("a", [])).toEqual([1, 3]);
    expect(lru.size).toBe(1);
  });

  test("refuses a capacity below one", () => {
    expect(() => new TimestampLru(0)).toThrow(RangeError);
  });

  test("behaves as an LRU of number[] under random reads and appends", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { minLength: 20, maxLength: 200 }),
        (capacity, keep, ops) => {
          const lru = new TimestampLru<number>(capacity);
          const model = new LRUCache<number, number[]>({ max: capacity });
          let now = 0;
          for (const [append, key] of ops) {
            const log = lru.read(key, []);
            const expected = model.get(key) ?? [];
            expect(log).toEqual(expected);
            if (append) {
              now += 1;
              lru.append(key, [...log], now, keep);
              model.set(key, pushTrimmed(expected, now, keep));
            }
            expect(lru.size).toBe(model.size);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("ipv4Number", () => {
  test("reads canonical dotted quads, and nothing else, as 32-bit numbers", () => {
    expect(ipv4Number("0.0.0.0")).toBe(0);
    expect(ipv4Number("10.1.2.3")).toBe(0x0a010203);
    expect(ipv4Number("255.255.255.255")).toBe(0xffffffff);
    expect(ipv4Number("10.1.2.0")).toBe(0x0a010200);
    for (const other of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.04",
      "1..2.3",
      "1.2.3.",
      ".1.2.3",
      "::1",
      "1.2.3.4/24",
      "unknown",
      "1.2.3.4 ",
    ])
      expect(ipv4Number(other)).toBe(-1);
  });
});

/**
 * The limiter as it was before its logs moved to typed arrays: lru-cache of number[] under string
 * keys, one LRU per scope (so that verifies cannot evict send buckets).
 */
class ReferenceIpLimiter {
  readonly #scopes: Record<IpScope, LRUCache<string, number[]>>;
  constructor(private readonly options: LruIpLimiterOptions) {
    this.#scopes = {
      send: new LRUCache({ max: options.maxEntries }),
      verify: new LRUCache({ max: options.maxEntries }),
      get: new LRUCache({ max: options.maxEntries }),
    };
  }
  hit(scope: IpScope, address: string) {
    const buckets = addressBuckets(address);
    const tiers = this.options[scope];
    if (!tiers) return undefined;
    const logs = this.#scopes[scope];
    const now = this.options.now!();
    const hostKey = `${scope}|h|${buckets.host}`;
    const hostLog = logs.get(hostKey) ?? [];
    const decision = decide(hostLog, now, tiers.host.windows);
    if (!decision.allowed) return { decision, policy: tiers.host };
    const subnet = buckets.family === "v4" ? tiers.v4Subnet : tiers.v6Subnet;
    if (subnet) {
      const subnetKey = `${scope}|s|${buckets.subnet}`;
      const subnetLog = logs.get(subnetKey) ?? [];
      const subnetDecision = decide(subnetLog, now, subnet.windows);
      if (!subnetDecision.allowed) return { decision: subnetDecision, policy: subnet };
      subnetLog.push(now);
      if (subnetLog.length > 2 * subnet.maxLimit) subnetLog.splice(0, subnetLog.length - subnet.maxLimit);
      logs.set(subnetKey, subnetLog);
    }
    hostLog.push(now);
    if (hostLog.length > 2 * tiers.host.maxLimit) hostLog.splice(0, hostLog.length - tiers.host.maxLimit);
    logs.set(hostKey, hostLog);
    return { decision, policy: tiers.host };
  }
  get size() {
    return this.#scopes.send.size + this.#scopes.verify.size + this.#scopes.get.size;
  }
}

describe("the per-IP limiter on typed-array logs", () => {
  const addresses = [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.1.1",
    "192.0.2.7",
    "0.0.0.0",
    "2001:db8::1",
    "2001:db8:0:1::1",
    "2001:db8:1::1",
    "64:ff9b::a00:1",
    "unknown",
    "1.2.3.0/24",
  ];
  test("decides exactly as the lru-cache of number[] it replaced, evictions included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(
          fc.tuple(
            fc.constantFrom<IpScope>("send", "verify", "get"),
            fc.constantFrom(...addresses),
            fc.integer({ min: 0, max: 4_000 }),
          ),
          { minLength: 50, maxLength: 300 },
        ),
        (maxEntries, hits) => {
          let now = 0;
          const options: LruIpLimiterOptions = {
            send: {
              host: ratePolicy("ip", parseLimits("2/10s,4/1m")!),
              v4Subnet: ratePolicy("subnet", parseLimits("3/10s")!),
              v6Subnet: ratePolicy("subnet", parseLimits("5/1m")!),
            },
            verify: { host: ratePolicy("ip", parseLimits("3/30s")!) },
            get: { host: ratePolicy("get", parseLimits("4/20s")!) },
            maxEntries,
            now: () => now,
          };
          const limiter = new LruIpLimiter(options);
          const reference = new ReferenceIpLimiter(options);
          for (const [scope, address, step] of hits) {
            now += step;
            const got = limiter.hit(scope, addressBuckets(address));
            const want = reference.hit(scope, address);
            expect(got?.decision).toEqual(want!.decision);
            expect(got?.policy).toBe(want!.policy);
            expect(limiter.size).toBe(reference.size);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
