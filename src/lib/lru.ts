import { LRUCache } from "lru-cache";

/**
 * An LRUCache holding at most `maxEntries` entries that allocates as it fills.
 * With `max`, lru-cache preallocates its arrays for every slot up front (about
 * 3 ms and 2–3 MB per cache at 100 000 entries, paid at start-up by each of the
 * gateway's caches); counted by `maxSize` with every entry of size 1, it evicts
 * the same way and grows only with use.
 */
export function boundedLru<K extends {}, V extends {}>(
  maxEntries: number,
  options: Omit<LRUCache.Options<K, V, unknown>, "max" | "maxSize" | "sizeCalculation"> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: maxEntries, sizeCalculation: () => 1 } as LRUCache.Options<
    K,
    V,
    unknown
  >);
}
