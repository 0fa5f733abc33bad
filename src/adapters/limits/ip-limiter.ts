import type { AddressBuckets } from "../../domain/address-buckets";
import type { OtpOperation } from "../../domain/operation";
import type { RatePolicy } from "../../domain/rate-policy";
import { decide, type RateDecision } from "../../domain/rate-window";
import { TimestampLru } from "../../lib/timestamp-lru";

/** What a request is charged as: a send, a verify, or a request to any other route (`get`). */
export type IpScope = OtpOperation | "get";

/** The limits of one scope: per address (unless switched off), and optionally per IPv4 /24 and per IPv6 /48. */
export interface TierPolicies {
  host?: RatePolicy;
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
  /** The decision on one request; undefined when the scope has no limit (IP_GET_LIMITS=off). */
  hit(scope: IpScope, buckets: AddressBuckets): IpDecision | undefined;
}

export interface LruIpLimiterOptions {
  send: TierPolicies;
  verify: TierPolicies;
  /** Every other route but the probes; undefined: not limited. */
  get?: TierPolicies;
  /**
   * Buckets remembered at most per scope (IP_LRU_MAX, addresses and subnets together); the least
   * recently seen go first. Each scope has an LRU of its own.
   */
  maxEntries: number;
  now?: () => number;
}

/** The tier as the high bit of an IPv4 key: `address + 2^32 × tier`. */
const TIER_BITS = { host: 0, subnet: 1 } as const;
const V4_SPAN = 2 ** 32;

/**
 * Sliding-window logs per address and per subnet in a bounded LRU per scope:
 * O(1) per request, memory flat under a flood of distinct addresses. An evicted
 * bucket starts afresh, so what may open buckets is bounded: every tier must
 * allow a request before any records it (a refused request opens none), and
 * send and verify keep separate LRUs, so that verifies, which have no subnet
 * tier, from a /48's 65 536 /64s cannot evict the send buckets of the client
 * sending them (nor can GETs, which have an LRU of their own too). To evict send buckets takes sends from as many /24s or /48s as
 * the LRU holds buckets over their limit plus one. Each log keeps at most twice the
 * newest `max(limit)` timestamps; an exact decision needs only `max(limit)`.
 * IPv4 buckets are keyed by number, the rest by `tier|bucket`, and the
 * logs live in typed arrays (timestamp-lru.ts): 100 000 buckets hold 8 MiB of
 * heap, not 30 as with a string and a number[] each.
 */
export class LruIpLimiter implements IpLimiter {
  readonly #logs: Record<IpScope, TimestampLru<string | number>>;
  readonly #now: () => number;
  // Logs of up to two timestamps are copied here to be read; one for each tier.
  readonly #hostScratch: number[] = [];
  readonly #subnetScratch: number[] = [];

  constructor(private readonly options: LruIpLimiterOptions) {
    this.#logs = {
      send: new TimestampLru(options.maxEntries),
      verify: new TimestampLru(options.maxEntries),
      get: new TimestampLru(options.maxEntries),
    };
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
  }

  hit(scope: IpScope, buckets: AddressBuckets): IpDecision | undefined {
    const tiers = this.options[scope];
    const subnet = buckets.family === "v4" ? tiers?.v4Subnet : tiers?.v6Subnet;
    if (!tiers?.host) return subnet && this.#subnetOnly(scope, buckets, subnet);
    const logs = this.#logs[scope];
    const now = this.#now();
    const hostKey = bucketKey("host", buckets);
    const hostLog = logs.read(hostKey, this.#hostScratch);
    const decision = decide(hostLog, now, tiers.host.windows);
    if (!decision.allowed) return { decision, policy: tiers.host };
    if (subnet) {
      const subnetKey = bucketKey("subnet", buckets);
      const subnetLog = logs.read(subnetKey, this.#subnetScratch);
      const subnetDecision = decide(subnetLog, now, subnet.windows);
      if (!subnetDecision.allowed) return { decision: subnetDecision, policy: subnet };
      logs.append(subnetKey, subnetLog, now, subnet.maxLimit);
    }
    logs.append(hostKey, hostLog, now, tiers.host.maxLimit);
    return { decision, policy: tiers.host };
  }

  /** The per-address limit switched off (IP_SEND_LIMITS=off): the subnet's tier alone. */
  #subnetOnly(scope: IpScope, buckets: AddressBuckets, subnet: RatePolicy): IpDecision {
    const logs = this.#logs[scope];
    const now = this.#now();
    const key = bucketKey("subnet", buckets);
    const log = logs.read(key, this.#subnetScratch);
    const decision = decide(log, now, subnet.windows);
    if (decision.allowed) logs.append(key, log, now, subnet.maxLimit);
    return { decision, policy: subnet };
  }

  /** Buckets remembered, every scope together. */
  get size(): number {
    return this.#logs.send.size + this.#logs.verify.size + this.#logs.get.size;
  }
}

/** An IPv4 address, or its /24, as a number in its tier's range; anything else as before, a string. */
function bucketKey(tier: keyof typeof TIER_BITS, buckets: AddressBuckets): string | number {
  const { v4 } = buckets;
  if (v4 !== undefined) return (tier === "host" ? v4 : v4 - (v4 % 256)) + V4_SPAN * TIER_BITS[tier];
  return tier === "host" ? `h|${buckets.host}` : `s|${buckets.subnet}`;
}
