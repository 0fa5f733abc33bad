import { createHash } from "node:crypto";
import type { VerificationRef } from "../../../domain/ids";
import { type PrefixLayout, rangeOf } from "../../../domain/number-ranges";

/**
 * The Redis keys. A phone's sends carry its hash tag: the number less its last
 * PUMPING_RANGE_DROP digits (its range; PUMPING_PREFIX_DROP with no ranges), the
 * tag of its block's and its range's pumping hashes and of its Idempotency-Key
 * claims too (`otp:{+9198765}:43210:send`, `otp:pump:{+9198765}43`,
 * `otp:pump:{+9198765}`, `otp:idem:{+9198765}…`), so a send's claim, windows and
 * prefix are decided in one step on one Cluster slot.
 */
export const sendsKey = (phone: string, tagDigits: number) =>
  `otp:{${phone.slice(0, -tagDigits)}}:${phone.slice(-tagDigits)}:send`;
/**
 * A phone's verifies and its verification records carry the tag of its ids
 * (src/domain/ids.ts), so a verify finds its id and charges its phone in one step.
 */
export const verifiesKey = (tag: string) => `otp:{${tag}}:verify`;
export const verificationKey = (id: VerificationRef) => `otp:vid:{${id.tag}}${id.inner}`;
/** Every gateway's requests to the upstream about deliveries (a sliding window): their shared pace. */
export const DELIVERY_POLLS_KEY = "otp:delivery-polls";
/** The secret the tags of verification ids are keyed with: made once by the first gateway, read by all. */
export const TAG_SECRET_KEY = "otp:tag-secret";
/** The pumping hash of a block (under its range's tag when it has one) or of a range (`range` undefined). */
export const pumpKey = (prefix: string, range?: string) =>
  range === undefined ? `otp:pump:{${prefix}}` : `otp:pump:{${range}}${prefix.slice(range.length)}`;
/** A block's pumping hash and, when it has a range, the range's: where a clear send is counted. */
export function pumpKeys(prefix: string, layout: PrefixLayout): [block: string, range?: string] {
  const range = rangeOf(prefix, layout);
  return range === undefined ? [pumpKey(prefix)] : [pumpKey(prefix, range), pumpKey(range)];
}
/**
 * A block's proven bits (returning users) of one generation, under the block's hash tag (its range's
 * when it has one), beside its pumping hash: the admission step reads them in its one step.
 */
export function provenKey(prefix: string, layout: PrefixLayout, generation: number): string {
  const [block] = pumpKeys(prefix, layout);
  return `otp:proven:${block.slice("otp:pump:".length)}:${generation}`;
}
/** The prefix a pumping hash is for (its tag and the rest); an older entry may be the bare prefix. */
export const prefixOfPumpKey = (key: string) =>
  key
    .match(/^otp:pump:\{([^}]*)\}(.*)$/)
    ?.slice(1, 3)
    .join("") ?? key;
/** Blocked prefixes and ranges, by their hashes' key names, scored by when the block ends. */
export const BLOCKS_KEY = "otp:pump:blocks";
/** Blocks and ranges that reached a bound on unproven sends, by their hashes' key names, scored by when the bound's window frees them at the latest. */
export const BOUNDED_KEY = "otp:pump:bounded";
const keyDigest = (key: string) => createHash("sha256").update(key).digest("hex").slice(0, 32);
/** An Idempotency-Key's claim and answer, under its phone's send tag: claimed in the send's admission step. */
export const idempotencyKey = (key: string, phone: string, tagDigits: number) =>
  `otp:idem:{${phone.slice(0, -tagDigits)}}${keyDigest(key)}`;
/** Which phone an Idempotency-Key belongs to, on the key's own slot: another phone's claim is a conflict. */
export const idempotencyOwnerKey = (key: string) => `otp:idem-phone:{${keyDigest(key)}}`;
/** One hash per budget; the scope is its hash tag (`{*}`, `{IN}`), so all its windows decide on one slot. */
export const budgetKey = (scope: string) => `otp:budget:{${scope}}`;
