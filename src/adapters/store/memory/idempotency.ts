import type { LRUCache } from "lru-cache";
import { boundedLru } from "../../../lib/lru";
import type { KeyTaken } from "../admission";

type Claim = { phone: string; answer?: string };

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

  /** What a claim of `key` for `phone` finds, or undefined when the key is free. */
  find(key: string, phone: string): KeyTaken | undefined {
    const existing = this.#claims.get(key);
    if (!existing) return undefined;
    if (existing.phone !== phone) return { state: "conflict" };
    return existing.answer === undefined ? { state: "pending" } : { state: "done", answer: existing.answer };
  }

  take(key: string, phone: string, pendingMs: number): void {
    this.#claims.set(key, { phone }, { ttl: pendingMs });
  }

  complete(key: string, phone: string, answer: string, ttlMs: number): void {
    this.#claims.set(key, { phone, answer }, { ttl: ttlMs });
  }

  /** Frees `phone`'s pending claim; an answer, or another phone's claim, stays. */
  release(key: string, phone: string): void {
    const existing = this.#claims.get(key);
    if (existing?.phone === phone && existing.answer === undefined) this.#claims.delete(key);
  }

  /** Frees `phone`'s claim whatever it holds (an answer stored without its record); another phone's stays. */
  forget(key: string, phone: string): void {
    if (this.#claims.get(key)?.phone === phone) this.#claims.delete(key);
  }
}
