import type { LRUCache } from "lru-cache";
import { boundedLru } from "../../lib/lru";
import { decide, type RateDecision, type Window } from "../../lib/rate-window";

export type IpScope = "send" | "verify";

/** Per-address limits, decided in process before a body is read or Redis is touched. */
export interface IpLimiter {
  hit(scope: IpScope, bucket: string): RateDecision;
  windows(scope: IpScope): readonly Window[];
}

export interface LruIpLimiterOptions {
  send: readonly Window[];
  verify: readonly Window[];
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
  readonly #keep: Record<IpScope, number>;

  constructor(private readonly options: LruIpLimiterOptions) {
    this.#logs = boundedLru(options.maxEntries);
    // A monotonic clock: a wall-clock step back must not reorder the logs.
    this.#now = options.now ?? (() => performance.now());
    this.#keep = { send: Math.max(...options.send.map((w) => w.limit)), verify: Math.max(...options.verify.map((w) => w.limit)) };
  }

  hit(scope: IpScope, bucket: string): RateDecision {
    const key = `${scope}|${bucket}`;
    const now = this.#now();
    const log = this.#logs.get(key) ?? [];
    const decision = decide(log, now, this.options[scope]);
    if (decision.allowed) {
      log.push(now);
      // Trim in batches (amortised O(1)); older entries beyond the largest limit never change a decision.
      if (log.length > 2 * this.#keep[scope]) log.splice(0, log.length - this.#keep[scope]);
      this.#logs.set(key, log);
    }
    return decision;
  }

  windows(scope: IpScope): readonly Window[] {
    return this.options[scope];
  }

  get size(): number {
    return this.#logs.size;
  }
}
