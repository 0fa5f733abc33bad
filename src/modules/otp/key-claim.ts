import type { IdempotencyClaim, OtpStore } from "../../adapters/store/interface";
import { GatewayError } from "../../errors";
import type { Admitted } from "./admission";
import type { SendAnswer } from "./model";
import type { SendOutcome } from "./policy";

/** A send's Idempotency-Key, hashed, and how long its claim lives unanswered. */
export interface KeyClaim {
  key: string;
  pendingMs: number;
}

type Owner = "new" | "same" | "other";

/**
 * Asks which phone the key is bound to, beside the send's admission step (the
 * claim itself lives under the phone's tag): awaited by `keepKey` only when
 * this request takes the key, so a rejection is handled here meanwhile.
 */
export function bindKey(store: OtpStore, claim: KeyClaim, phone: string): Promise<Owner> {
  const owning = store.ownIdempotency(claim.key, phone, claim.pendingMs);
  owning.catch(() => undefined);
  return owning;
}

/**
 * This request took the key for its phone; the key's binding says whether another
 * phone took it first (two phones of one range meet in the claim itself). If so,
 * or if the binding could not be asked, what the admission counted and the claim
 * are given back.
 */
export async function keepKey(store: OtpStore, owning: Promise<Owner>, claim: KeyClaim, phone: string, admission?: Admitted) {
  const giveBack = () => Promise.all([admission?.undo(), store.releaseIdempotency(claim.key, phone).catch(() => undefined)]);
  let owner: Owner;
  try {
    owner = await owning;
  } catch (err) {
    await giveBack();
    throw err;
  }
  if (owner === "other") {
    await giveBack();
    throw new GatewayError("IDEMPOTENCY_CONFLICT");
  }
}

/** A key claimed before: another phone's (409), still running (409), or answered (its answer again). */
export function claimedBefore(claim: Exclude<IdempotencyClaim, { state: "new" }>, maskedPhone: string): SendOutcome {
  if (claim.state === "conflict") throw new GatewayError("IDEMPOTENCY_CONFLICT");
  if (claim.state === "pending") throw new GatewayError("IDEMPOTENCY_IN_PROGRESS");
  return { answer: JSON.parse(claim.answer) as SendAnswer, maskedPhone, replayed: true };
}
