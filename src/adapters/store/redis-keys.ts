import { createHash } from "node:crypto";
import { type PrefixLayout, rangeOf } from "../../lib/number-ranges";
import type { EventKind } from "./interface";

/**
 * The Redis keys. A phone's events carry its hash tag: the number less its last
 * PUMPING_RANGE_DROP digits (its range; PUMPING_PREFIX_DROP with no ranges), the
 * tag of its block's and its range's pumping hashes too
 * (`otp:{+9198765}:43210:send`, `otp:pump:{+9198765}43`, `otp:pump:{+9198765}`),
 * so a send's windows and its prefix are decided in one step on one Cluster slot.
 */
export const eventsKey = (phone: string, kind: EventKind, tagDigits: number) =>
  `otp:{${phone.slice(0, -tagDigits)}}:${phone.slice(-tagDigits)}:${kind}`;
/** The pumping hash of a block (under its range's tag when it has one) or of a range (`range` undefined). */
export const pumpKey = (prefix: string, range?: string) =>
  range === undefined ? `otp:pump:{${prefix}}` : `otp:pump:{${range}}${prefix.slice(range.length)}`;
/** A block's pumping hash and, when it has a range, the range's: where a clear send is counted. */
export function pumpKeys(prefix: string, layout: PrefixLayout): [block: string, range?: string] {
  const range = rangeOf(prefix, layout);
  return range === undefined ? [pumpKey(prefix)] : [pumpKey(prefix, range), pumpKey(range)];
}
/** The prefix a pumping hash is for (its tag and the rest); an older entry may be the bare prefix. */
export const prefixOfPumpKey = (key: string) =>
  key
    .match(/^otp:pump:\{([^}]*)\}(.*)$/)
    ?.slice(1, 3)
    .join("") ?? key;
/** Blocked prefixes and ranges, by their hashes' key names, scored by when the block ends. */
export const BLOCKS_KEY = "otp:pump:blocks";
export const idempotencyKey = (key: string) => `otp:idem:{${createHash("sha256").update(key).digest("hex").slice(0, 32)}}`;
export const verificationKey = (id: string) => `otp:vid:{${id}}`;
/** One hash per budget; the scope is its hash tag (`{*}`, `{IN}`), so all its windows decide on one slot. */
export const budgetKey = (scope: string) => `otp:budget:{${scope}}`;
