import type { AddressBuckets } from "../../lib/address-buckets";
import type { RatePolicy } from "../../lib/rate-policy";
import { decide, type RateDecision } from "../../lib/rate-window";
import { TimestampLru } from "../../lib/timestamp-lru";

export type IpScope = "send" | "verify";

/** The limits of one scope: per address, and optionally per IPv4 /24 and per IPv6 /48. */
export interface TierPolicies {
  host: RatePolicy;
  v4Subnet?: RatePolicy;
  v6Subnet?: RatePolicy;
}

/** A decision and the policy that made it (the denying tier, or the address's own when allowed). */
export interface IpDecision {
  decision: RateDecision;
  policy: RatePolicy;
}

/** Per-address limits, decided in process before a body is read or Redis is touched. */
export interface IpLimiter {
  hit(scope: IpScope, buckets: AddressBuckets): IpDecision;
}

export interface LruIpLimiterOptions {
  send: TierPolicies;
  verify: TierPolicies;
  /** Buckets remembered at most (IP_LRU_MAX, addresses and subnets together); the least recently seen go first. */
  maxEntries: number;
  now?: () => number;
}

/** Scopes and tiers as the high bits of an IPv4 key: `address + 2^32 × (2 × scope + tier)`. */
const SCOPE_BITS: Record<IpScope, number> = { send: 0, verify: 2 };
const TIER_BITS = { host: 0, subnet: 1 } as const;
const V4_SPAN = 2 ** 32;

/**
 * Sliding-window logs per address and per subnet in one bounded LRU: O(1) per
 * request, memory flat under a flood of distinct addresses (an evicted bucket
 * starts afresh, which costs the flooder more than it gains). Every tier must
 * allow a request before any records it. Each log keeps at most twice the
 * newest `max(limit)` timestamps; an exact decision needs only `max(limit)`.
 * IPv4 buckets are keyed by number, the rest by `scope|tier|bucket`, and the
 * logs live in typed arrays (timestamp-lru.ts): 100 000 buckets hold 8 MiB of
 * heap, not 30 as with a string and a number[] each.
 */
export class LruIpLimiter implements IpLimiter {
  readonly #logs: TimestampLru<string | number>;
  readonly #now: () => number;
  // Logs of up to two timestamps are copied here to be read; one for each tier.
  readonly #hostScratch: number[] = [];
  readonly #subnetScratch: number[] = [];

  constructor(private readonly options: LruIpLimiterOptions) {
    this.#logs = new TimestampLru(options.maxEntries);
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
  }

  hit(scope: IpScope, buckets: AddressBuckets): IpDecision {
    const tiers = this.options[scope];
    const now = this.#now();
    const hostKey = bucketKey(scope, "host", buckets);
    const hostLog = this.#logs.read(hostKey, this.#hostScratch);
    const decision = decide(hostLog, now, tiers.host.windows);
    if (!decision.allowed) return { decision, policy: tiers.host };
    const subnet = buckets.family === "v4" ? tiers.v4Subnet : tiers.v6Subnet;
    if (subnet) {
      const subnetKey = bucketKey(scope, "subnet", buckets);
      const subnetLog = this.#logs.read(subnetKey, this.#subnetScratch);
      const subnetDecision = decide(subnetLog, now, subnet.windows);
      if (!subnetDecision.allowed) return { decision: subnetDecision, policy: subnet };
      this.#logs.append(subnetKey, subnetLog, now, subnet.maxLimit);
    }
    this.#logs.append(hostKey, hostLog, now, tiers.host.maxLimit);
    return { decision, policy: tiers.host };
  }

  get size(): number {
    return this.#logs.size;
  }
}

/** An IPv4 address, or its /24, as a number in its scope's and tier's range; anything else as before, a string. */
function bucketKey(scope: IpScope, tier: keyof typeof TIER_BITS, buckets: AddressBuckets): string | number {
  const { v4 } = buckets;
  if (v4 !== undefined) return (tier === "host" ? v4 : v4 - (v4 % 256)) + V4_SPAN * (SCOPE_BITS[scope] + TIER_BITS[tier]);
  return `${scope}|${tier === "host" ? "h" : "s"}|${tier === "host" ? buckets.host : buckets.subnet}`;
}
