import type { IdempotencyClaim, OtpStore } from "../../adapters/store/port";
import { GatewayError } from "../../errors";
import type { Admitted, ClaimedBefore } from "./admission";
import type { SendAnswer } from "./model";
import type { SendOutcome } from "./policy";

/** A send's Idempotency-Key, hashed, and how long its claim lives unanswered. */
export interface KeyClaim {
  key: string;
  pendingMs: number;
}

type Owner = "new" | "same" | "other";

/**
 * A send's store step before the upstream (`step`: the key's claim and the send's
 * checks), with the key's binding to one phone asked beside it (the claim lives
 * under the phone's tag, the binding under the key's). What the step admitted
 * holds the key; a key claimed before is returned as it is; a refusal is thrown.
 */
export async function withKey(
  store: OtpStore,
  claim: KeyClaim | undefined,
  phone: string,
  step: () => Promise<Admitted | ClaimedBefore | undefined>,
): Promise<Admitted | ClaimedBefore | undefined> {
  if (!claim) return step();
  const owning = store.ownIdempotency(claim.key, phone, claim.pendingMs);
  owning.catch(() => undefined); // awaited below, whatever the step does first
  let admitted: Admitted | ClaimedBefore | undefined;
  try {
    admitted = await step();
  } catch (err) {
    // Refused: no claim was kept, so no binding of this request's stays either.
    await unbindKey(store, owning, claim, phone);
    throw err;
  }
  if (admitted && "claimedBefore" in admitted) {
    if (admitted.claimedBefore.state === "conflict") await unbindKey(store, owning, claim, phone);
    return admitted;
  }
  await keepKey(store, owning, claim, phone, admitted);
  return admitted;
}

/**
 * This request took the key for its phone; the key's binding says whether another
 * phone took it first (two phones of one range meet in the claim itself). If so,
 * or if the binding could not be asked, what the admission counted and the claim
 * are given back.
 */
async function keepKey(store: OtpStore, owning: Promise<Owner>, claim: KeyClaim, phone: string, admission?: Admitted) {
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

/**
 * This request kept no claim (refused, or the key is another phone's): a binding
 * it made (`new`) names its phone for no claim, and would turn away the key's use
 * for the phone meant. (Not for a claim in progress or answered for this phone:
 * that binding is right, whoever made it.)
 */
async function unbindKey(store: OtpStore, owning: Promise<Owner>, claim: KeyClaim, phone: string): Promise<void> {
  const owner = await owning.catch(() => undefined);
  if (owner === "new") await store.unbindIdempotency(claim.key, phone).catch(() => undefined);
}

/** A key claimed before: another phone's (409), still running (409), or answered (its answer again). */
export function claimedBefore(claim: Exclude<IdempotencyClaim, { state: "new" }>, maskedPhone: string): SendOutcome {
  if (claim.state === "conflict") throw new GatewayError("IDEMPOTENCY_CONFLICT");
  if (claim.state === "pending") throw new GatewayError("IDEMPOTENCY_IN_PROGRESS");
  return { answer: JSON.parse(claim.answer) as SendAnswer, maskedPhone, replayed: true };
}
