import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { IntIndex } from "../../src/lib/int-index";

/** FC_RUNS raises it for a long run. */
const RUNS = Number(process.env.FC_RUNS ?? 300);

// Small integers collide often in a small table; IPv4 keys of other tiers differ only in the high bits.
const KEYS = [0, 1, 2, 3, 17, 33, 1024, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 3 * 2 ** 32 + 7, 2 ** 53 - 1];

describe("IntIndex", () => {
  test("behaves as a Map under random sets and deletes, growth and backward shifts included", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.boolean(),
            fc.oneof(fc.constantFrom(...KEYS), fc.integer({ min: 0, max: 200 })),
            fc.nat(1_000_000),
          ),
          {
            minLength: 20,
            maxLength: 300,
          },
        ),
        (ops) => {
          const index = new IntIndex();
          const model = new Map<number, number>();
          for (const [set, key, value] of ops) {
            if (set) {
              index.set(key, value);
              model.set(key, value);
            } else {
              index.delete(key);
              model.delete(key);
            }
            expect(index.size).toBe(model.size);
            for (const k of [...KEYS, key]) expect(index.get(k)).toBe(model.get(k));
          }
          for (const [k, v] of model) expect(index.get(k)).toBe(v);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("holds 100 000 IPv4-like keys and gives them back after deletes", () => {
    const index = new IntIndex();
    for (let i = 0; i < 100_000; i++) index.set(2 ** 32 + i * 8, i);
    for (let i = 0; i < 100_000; i += 2) index.delete(2 ** 32 + i * 8);
    expect(index.size).toBe(50_000);
    for (let i = 0; i < 100_000; i++) expect(index.get(2 ** 32 + i * 8)).toBe(i % 2 ? i : undefined);
  });
});
