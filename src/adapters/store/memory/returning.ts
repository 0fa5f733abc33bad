import type { LRUCache } from "lru-cache";
import { generationOf, provenIndex, type ReturningPolicy } from "../../../domain/returning";
import { boundedLru } from "../../../lib/lru";

/**
 * Returning users in process: per block, the numbers that verified, by generation, as
 * lua/lib/returning.lua keeps them in bits (src/domain/returning.ts). Bounded: the least
 * recently used blocks go first.
 */
export class MemoryReturning {
  readonly #blocks: LRUCache<string, Map<number, Set<number>>>;

  constructor(
    maxEntries: number,
    private readonly now: () => number,
    private readonly dropDigits: number,
  ) {
    this.#blocks = boundedLru(maxEntries, { perf: { now } });
  }

  isProven(phone: string, policy: ReturningPolicy): boolean {
    const generations = this.#blocks.get(phone.slice(0, -this.dropDigits));
    if (!generations) return false;
    const index = provenIndex(phone, this.dropDigits);
    const now = generationOf(this.now(), policy);
    return [now, now - 1, now + 1].some((g) => generations.get(g)?.has(index) === true);
  }

  prove(phone: string, policy: ReturningPolicy): void {
    const block = phone.slice(0, -this.dropDigits);
    const generations = this.#blocks.get(block) ?? new Map<number, Set<number>>();
    const now = generationOf(this.now(), policy);
    for (const g of generations.keys()) if (g < now - 1) generations.delete(g);
    const numbers = generations.get(now) ?? new Set<number>();
    numbers.add(provenIndex(phone, this.dropDigits));
    generations.set(now, numbers);
    this.#blocks.set(block, generations, { ttl: policy.windowMs });
  }
}
