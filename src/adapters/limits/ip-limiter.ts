import type { LRUCache } from "lru-cache";
import { boundedLru } from "../../lib/lru";
import type { RatePolicy } from "../../lib/rate-policy";
import { decide, type RateDecision } from "../../lib/rate-window";

export type IpScope = "send" | "verify";

/** Per-address limits, decided in process before a body is read or Redis is touched. */
export interface IpLimiter {
  hit(scope: IpScope, bucket: string): RateDecision;
  policy(scope: IpScope): RatePolicy;
}

export interface LruIpLimiterOptions {
  send: RatePolicy;
  verify: RatePolicy;
  /** Addresses remembered at most (IP_LRU_MAX); the least recently seen are forgotten first. */
  maxEntries: number;
  now?: () => number;
}

/**
 * Sliding-window logs per address in one bounded LRU: O(1) per request, memory
 * flat under a flood of distinct addresses (an evicted address starts afresh,
 * which costs the flooder more than it gains). Each log keeps at most twice the
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

  hit(scope: IpScope, bucket: string): RateDecision {
    const policy = this.options[scope];
    const key = `${scope}|${bucket}`;
    const now = this.#now();
    const log = this.#logs.get(key) ?? [];
    const decision = decide(log, now, policy.windows);
    if (decision.allowed) {
      log.push(now);
      // Trim in batches (amortised O(1)); older entries beyond the largest limit never change a decision.
      if (log.length > 2 * policy.maxLimit) log.splice(0, log.length - policy.maxLimit);
      this.#logs.set(key, log);
    }
    return decision;
  }

  policy(scope: IpScope): RatePolicy {
    return this.options[scope];
  }

  get size(): number {
    return this.#logs.size;
  }
}
