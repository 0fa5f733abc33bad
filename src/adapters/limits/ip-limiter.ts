import type { LRUCache } from "lru-cache";
import type { AddressBuckets } from "../../lib/address-buckets";
import { boundedLru } from "../../lib/lru";
import type { RatePolicy } from "../../lib/rate-policy";
import { decide, type RateDecision } from "../../lib/rate-window";

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

/**
 * Sliding-window logs per address and per subnet in one bounded LRU: O(1) per
 * request, memory flat under a flood of distinct addresses (an evicted bucket
 * starts afresh, which costs the flooder more than it gains). Every tier must
 * allow a request before any records it. Each log keeps at most twice the
 * newest `max(limit)` timestamps; an exact decision needs only `max(limit)`.
 */
export class LruIpLimiter implements IpLimiter {
  readonly #logs: LRUCache<string, number[]>;
  readonly #now: () => number;

  constructor(private readonly options: LruIpLimiterOptions) {
    this.#logs = boundedLru(options.maxEntries);
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
  }

  hit(scope: IpScope, buckets: AddressBuckets): IpDecision {
    const tiers = this.options[scope];
    const now = this.#now();
    const hostKey = `${scope}|h|${buckets.host}`;
    const hostLog = this.#logs.get(hostKey) ?? [];
    const decision = decide(hostLog, now, tiers.host.windows);
    if (!decision.allowed) return { decision, policy: tiers.host };
    const subnet = buckets.family === "v4" ? tiers.v4Subnet : tiers.v6Subnet;
    if (subnet) {
      const subnetKey = `${scope}|s|${buckets.subnet}`;
      const subnetLog = this.#logs.get(subnetKey) ?? [];
      const subnetDecision = decide(subnetLog, now, subnet.windows);
      if (!subnetDecision.allowed) return { decision: subnetDecision, policy: subnet };
      this.#record(subnetKey, subnetLog, now, subnet);
    }
    this.#record(hostKey, hostLog, now, tiers.host);
    return { decision, policy: tiers.host };
  }

  #record(key: string, log: number[], now: number, policy: RatePolicy): void {
    log.push(now);
    // Trim in batches (amortised O(1)); older entries beyond the largest limit never change a decision.
    if (log.length > 2 * policy.maxLimit) log.splice(0, log.length - policy.maxLimit);
    this.#logs.set(key, log);
  }

  get size(): number {
    return this.#logs.size;
  }
}
