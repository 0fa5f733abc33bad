import type { LRUCache } from "lru-cache";
import { boundedLru } from "../../../lib/lru";
import type { KeyTaken } from "../admission";

/** A key's claim: its phone, its answer once sent, its retries so far, and whether a failed send released it. */
type Claim = { phone: string; answer?: string; retries: number; released?: boolean };

/**
 * Idempotency-Keys in process: one bounded map of claims by key, whose entries
 * expire like the Redis keys do. One map holds every key here, so a claim is
 * its key's binding to its phone too.
 */
export class MemoryIdempotency {
  readonly #claims: LRUCache<string, Claim>;

  constructor(max: number, now: () => number) {
    this.#claims = boundedLru(max, { perf: { now } });
  }

  /**
   * What a claim of `key` for `phone` finds, or undefined when the key is free; `retriesAllowed`:
   * a key released after failed sends that many times is spent (as idem_read and admit.lua).
   */
  find(key: string, phone: string, retriesAllowed = Number.POSITIVE_INFINITY): KeyTaken | undefined {
    const existing = this.#claims.get(key);
    if (!existing) return undefined;
    // A key released by a failed send stays its phone's: the send may have gone out.
    if (existing.phone !== phone) return { state: "conflict" };
    if (existing.released) return existing.retries >= retriesAllowed ? { state: "spent" } : undefined;
    return existing.answer === undefined ? { state: "pending" } : { state: "done", answer: existing.answer };
  }

  /** Claims the key for `phone`; a retry (`retry`) counts one more retry of a key released before. */
  take(key: string, phone: string, pendingMs: number, retry = false): void {
    const retries = (this.#claims.get(key)?.retries ?? 0) + (retry ? 1 : 0);
    this.#claims.set(key, { phone, retries }, { ttl: pendingMs });
  }

  complete(key: string, phone: string, answer: string, ttlMs: number): void {
    this.#claims.set(key, { phone, answer, retries: 0 }, { ttl: ttlMs });
  }

  /** Frees `phone`'s pending claim for a retry, keeping its retries for `keepMs`; an answer, or another phone's claim, stays. */
  release(key: string, phone: string, keepMs: number): void {
    const existing = this.#pending(key, phone);
    if (existing) this.#claims.set(key, { ...existing, released: true }, { ttl: Math.max(1, keepMs) });
  }

  /** Drops `phone`'s pending claim: its send went nowhere. */
  cancel(key: string, phone: string): void {
    if (this.#pending(key, phone)) this.#claims.delete(key);
  }

  #pending(key: string, phone: string): Claim | undefined {
    const existing = this.#claims.get(key);
    return existing?.phone === phone && existing.answer === undefined && !existing.released
      ? existing
      : undefined;
  }

  /** Frees `phone`'s claim whatever it holds (an answer stored without its record); another phone's stays. */
  forget(key: string, phone: string): void {
    if (this.#claims.get(key)?.phone === phone) this.#claims.delete(key);
  }
}
