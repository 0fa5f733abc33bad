import admit from "./lua/admit.lua" with { type: "text" };
import beginVerify from "./lua/begin-verify.lua" with { type: "text" };
import budget from "./lua/budget.lua" with { type: "text" };
import cancelVerification from "./lua/cancel-verification.lua" with { type: "text" };
import claimIdempotency from "./lua/claim-idempotency.lua" with { type: "text" };
import claimVerified from "./lua/claim-verified.lua" with { type: "text" };
import deleteIf from "./lua/delete-if.lua" with { type: "text" };
import delivery from "./lua/delivery.lua" with { type: "text" };
import hit from "./lua/hit.lua" with { type: "text" };
import budgetLib from "./lua/lib/budget.lua" with { type: "text" };
import clockLib from "./lua/lib/clock.lua" with { type: "text" };
import idempotencyLib from "./lua/lib/idempotency.lua" with { type: "text" };
import listLib from "./lua/lib/list.lua" with { type: "text" };
import pumpLib from "./lua/lib/pump.lua" with { type: "text" };
import pumpTotalsLib from "./lua/lib/pump-totals.lua" with { type: "text" };
import returningLib from "./lua/lib/returning.lua" with { type: "text" };
import unprovenLib from "./lua/lib/unproven.lua" with { type: "text" };
import windowLib from "./lua/lib/window.lua" with { type: "text" };
import ownIdempotency from "./lua/own-idempotency.lua" with { type: "text" };
import pumpLift from "./lua/pump-lift.lua" with { type: "text" };
import releaseIdempotency from "./lua/release-idempotency.lua" with { type: "text" };
import safeListAdd from "./lua/safe-list-add.lua" with { type: "text" };
import saveVerification from "./lua/save-verification.lua" with { type: "text" };
import tagSecret from "./lua/tag-secret.lua" with { type: "text" };
import takeBack from "./lua/take-back.lua" with { type: "text" };
import verified from "./lua/verified.lua" with { type: "text" };

/**
 * The store's Lua, run inside Redis so that each check-and-update is atomic across every
 * gateway: one file per script under lua/, each opening with what it does, its KEYS, ARGV
 * and reply, and the shared functions under lua/lib/, put before the script that calls them.
 * Loaded with ioredis `defineCommand`: EVALSHA, and EVAL when Redis answers NOSCRIPT (after a
 * restart or SCRIPT FLUSH). Each script touches keys of one hash tag, so it runs on a Redis
 * Cluster as is. `keys`: how many of a command's arguments are keys (fixed, so that a Cluster
 * client finds the slot); the admission step comes in one command per key count.
 */
const withLibs = (...parts: string[]) => parts.join("\n");
const admitting = withLibs(
  clockLib,
  listLib,
  windowLib,
  pumpTotalsLib,
  pumpLib,
  budgetLib,
  idempotencyLib,
  unprovenLib,
  returningLib,
  admit,
);
const counting = withLibs(clockLib, listLib, verified);

export const SCRIPTS = {
  otpHit: { keys: 1, lua: withLibs(clockLib, listLib, windowLib, hit) },
  otpAdmit2: { keys: 2, lua: admitting },
  otpAdmit3: { keys: 3, lua: admitting },
  otpAdmit4: { keys: 4, lua: admitting },
  otpAdmit5: { keys: 5, lua: admitting },
  otpAdmit6: { keys: 6, lua: admitting },
  otpAdmit7: { keys: 7, lua: admitting },
  otpAdmit8: { keys: 8, lua: admitting },
  otpAdmit9: { keys: 9, lua: admitting },
  otpBudget: { keys: 1, lua: withLibs(clockLib, listLib, budgetLib, budget) },
  otpTakeBack: { keys: 1, lua: takeBack },
  otpClaimIdempotency: { keys: 1, lua: withLibs(idempotencyLib, claimIdempotency) },
  otpOwnIdempotency: { keys: 1, lua: ownIdempotency },
  otpReleaseIdempotency: { keys: 1, lua: releaseIdempotency },
  otpDeleteIf: { keys: 1, lua: deleteIf },
  otpTagSecret: { keys: 1, lua: tagSecret },
  otpSaveVerification: { keys: 1, lua: saveVerification },
  otpBeginVerify: { keys: 2, lua: withLibs(clockLib, listLib, windowLib, beginVerify) },
  otpClaimVerified: { keys: 1, lua: claimVerified },
  otpCancelVerification: { keys: 1, lua: cancelVerification },
  otpDelivery: { keys: 1, lua: delivery },
  otpVerified1: { keys: 1, lua: counting },
  otpVerified2: { keys: 2, lua: counting },
  otpVerified3: { keys: 3, lua: counting },
  otpPumpLift: { keys: 1, lua: withLibs(clockLib, pumpLift) },
  otpSafeListAdd: { keys: 1, lua: safeListAdd },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
