import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LRUCache } from "lru-cache";
import {
  type IpScope,
  LruIpLimiter,
  type LruIpLimiterOptions,
} from "../../../src/adapters/limits/ip-limiter";
import { addressBuckets } from "../../../src/domain/address-buckets";
import { ratePolicy } from "../../../src/domain/rate-policy";
import { decide } from "../../../src/domain/rate-window";
import { limitsOf, must } from "../../support/given";

/** FC_RUNS raises it for a long run. */
const RUNS = Number(process.env.FC_RUNS ?? 300);

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
    const host = must(tiers.host, "a per-address tier (the model does not switch it off)");
    const logs = this.#scopes[scope];
    const now = must(this.options.now, "the test's clock")();
    const hostKey = `${scope}|h|${buckets.host}`;
    const hostLog = logs.get(hostKey) ?? [];
    const decision = decide(hostLog, now, host.windows);
    if (!decision.allowed) return { decision, policy: host };
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
    if (hostLog.length > 2 * host.maxLimit) hostLog.splice(0, hostLog.length - host.maxLimit);
    logs.set(hostKey, hostLog);
    return { decision, policy: host };
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
              host: ratePolicy("ip", limitsOf("2/10s,4/1m")),
              v4Subnet: ratePolicy("subnet", limitsOf("3/10s")),
              v6Subnet: ratePolicy("subnet", limitsOf("5/1m")),
            },
            verify: { host: ratePolicy("ip", limitsOf("3/30s")) },
            get: { host: ratePolicy("get", limitsOf("4/20s")) },
            maxEntries,
            now: () => now,
          };
          const limiter = new LruIpLimiter(options);
          const reference = new ReferenceIpLimiter(options);
          for (const [scope, address, step] of hits) {
            now += step;
            const got = limiter.hit(scope, addressBuckets(address));
            const want = must(reference.hit(scope, address), `the reference's decision on ${scope}`);
            expect(got?.decision).toEqual(want.decision);
            expect(got?.policy).toBe(want.policy);
            expect(limiter.size).toBe(reference.size);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("the per-IP limiter's LRU", () => {
  test("200000 distinct addresses keep the LRU at its cap", () => {
    const limiter = new LruIpLimiter({
      send: { host: ratePolicy("ip", limitsOf("5/1m,20/10m,50/1h")) },
      verify: { host: ratePolicy("ip", limitsOf("10/1m")) },
      maxEntries: 100_000,
    });
    for (let i = 0; i < 200_000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      expect(limiter.hit("send", addressBuckets(address))?.decision.allowed).toBe(true);
    }
    expect(limiter.size).toBe(100_000);
  });
});
