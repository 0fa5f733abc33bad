import { createHash } from "node:crypto";
import type { EventKind } from "./interface";

/**
 * The Redis keys. A phone's events carry its number prefix (the phone less its
 * last PUMPING_PREFIX_DROP digits) as their hash tag, the tag of the prefix's
 * pumping hash too (`otp:{+919876543}:210:send`, `otp:pump:{+919876543}`), so a
 * send's windows and its prefix are decided in one step on one Cluster slot.
 */
export const eventsKey = (phone: string, kind: EventKind, digits: number) =>
  `otp:{${phone.slice(0, -digits)}}:${phone.slice(-digits)}:${kind}`;
/** One hash per number prefix; blocked prefixes are also listed in one sorted set. */
export const pumpKey = (prefix: string) => `otp:pump:{${prefix}}`;
export const BLOCKS_KEY = "otp:pump:blocks";
export const idempotencyKey = (key: string) => `otp:idem:{${createHash("sha256").update(key).digest("hex").slice(0, 32)}}`;
export const verificationKey = (id: string) => `otp:vid:{${id}}`;
/** One hash per budget; the scope is its hash tag (`{*}`, `{IN}`), so all its windows decide on one slot. */
export const budgetKey = (scope: string) => `otp:budget:{${scope}}`;
