import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { LRUCache } from "lru-cache";
import { TimestampLru } from "../../src/lib/timestamp-lru";

/** FC_RUNS raises it for a long run. */
const RUNS = Number(process.env.FC_RUNS ?? 300);

/** What each log must behave as: a number[] that is pushed to and trimmed past twice `keep`. */
function pushTrimmed(log: number[], now: number, keep: number): number[] {
  const next = [...log, now];
  return next.length > 2 * keep ? next.slice(next.length - keep) : next;
}

describe("TimestampLru", () => {
  test("logs of one, two and many timestamps read back oldest first, trimmed like a number[]", () => {
    const lru = new TimestampLru<string>(10);
    let model: number[] = [];
    for (let t = 1; t <= 40; t++) {
      expect(lru.read("a", [])).toEqual(model);
      lru.append("a", model, t, 5);
      model = pushTrimmed(model, t, 5);
    }
    // Past 2 × keep = 10 it keeps the newest 5, then grows to 10 again.
    expect(lru.read("a", [])).toEqual(model);
    expect(model.length).toBeLessThanOrEqual(10);
    expect(lru.read("absent", [7, 8])).toEqual([]);
  });

  test("grows with use up to its capacity, then the least recently read or appended entry goes first", () => {
    const lru = new TimestampLru<number>(3000);
    for (let key = 0; key < 3000; key++) lru.append(key, [], key, 1);
    expect(lru.size).toBe(3000);
    // Reading 0 makes it the most recent: 1 goes next, then 2.
    expect(lru.read(0, [])).toEqual([0]);
    lru.append(3000, [], 3000, 1);
    lru.append(3001, [], 3001, 1);
    expect(lru.size).toBe(3000);
    expect(lru.read(1, [])).toEqual([]);
    expect(lru.read(2, [])).toEqual([]);
    expect(lru.read(0, [])).toEqual([0]);
    expect(lru.read(3001, [])).toEqual([3001]);
  });

  test("a number key and the same digits as a string are two entries", () => {
    const lru = new TimestampLru<string | number>(4);
    lru.append(1, [], 10, 5);
    lru.append("1", [], 20, 5);
    expect(lru.read(1, [])).toEqual([10]);
    expect(lru.read("1", [])).toEqual([20]);
  });

  test("an entry evicted between its read and its append comes back with the log it was read with", () => {
    const lru = new TimestampLru<string>(1);
    lru.append("a", [], 1, 5);
    const a = [...lru.read("a", [])];
    lru.append("b", [], 2, 5);
    lru.append("a", a, 3, 5);
    expect(lru.read("a", [])).toEqual([1, 3]);
    expect(lru.size).toBe(1);
  });

  test("refuses a capacity below one", () => {
    expect(() => new TimestampLru(0)).toThrow(RangeError);
  });

  test("behaves as an LRU of number[] under random reads and appends", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { minLength: 20, maxLength: 200 }),
        (capacity, keep, ops) => {
          const lru = new TimestampLru<number>(capacity);
          const model = new LRUCache<number, number[]>({ max: capacity });
          let now = 0;
          for (const [append, key] of ops) {
            const log = lru.read(key, []);
            const expected = model.get(key) ?? [];
            expect(log).toEqual(expected);
            if (append) {
              now += 1;
              lru.append(key, [...log], now, keep);
              model.set(key, pushTrimmed(expected, now, keep));
            }
            expect(lru.size).toBe(model.size);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
