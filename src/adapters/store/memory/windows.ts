import type { LRUCache } from "lru-cache";
import type { RatePolicy } from "../../../domain/rate-policy";
import { decide, type RateDecision } from "../../../domain/rate-window";
import { boundedLru } from "../../../lib/lru";

type Event = { at: number; member: string };

/** Sliding-window logs in process (a phone's sends, its verifies), in one bounded map whose entries expire like the Redis keys. */
export class MemoryWindows {
  readonly #events: LRUCache<string, Event[]>;

  constructor(
    max: number,
    private readonly now: () => number,
  ) {
    this.#events = boundedLru(max, { perf: { now } });
  }

  /**
   * The windows' decision for one more event, and how to record it (the log is pruned either way).
   * An empty log is not kept: a check that records nothing (a send a budget then refuses) must not
   * take a place in the map, or a flood of them would evict other phones' logs.
   */
  check(
    key: string,
    policy: RatePolicy,
    member: string,
  ): { decision: RateDecision; record: () => void; countedAt?: number; retime: () => void } {
    const now = this.now();
    const longest = policy.longestMs;
    const events = (this.#events.get(key) ?? []).filter((e) => e.at > now - longest);
    const counted = events.find((e) => e.member === member);
    const decision = decide(
      events.map((e) => e.at),
      now,
      policy.windows,
      counted !== undefined,
    );
    if (events.length > 0) this.#events.set(key, events, { ttl: longest });
    else this.#events.delete(key);
    return {
      decision,
      record: () => {
        events.push({ at: now, member });
        this.#events.set(key, events, { ttl: longest });
      },
      countedAt: counted?.at,
      /** A retry charged again: its event takes this time (ZADD XX in admit.lua). */
      retime: () => {
        if (counted) counted.at = now;
        events.sort((a, b) => a.at - b.at);
      },
    };
  }

  /** Takes an event back; a log left empty is not kept. */
  remove(key: string, member: string): void {
    const events = this.#events.get(key)?.filter((e) => e.member !== member);
    if (events?.length) this.#events.set(key, events, { noUpdateTTL: true });
    else this.#events.delete(key);
  }

  clear(key: string): void {
    this.#events.delete(key);
  }
}
