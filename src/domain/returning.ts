/**
 * Returning users: a number that verified a code through the gateway within the
 * window is proven, and no rule of the guard refuses it (nor the budgets' reserve).
 * Kept per block, one bit per number (1 000 bits for a block of 1 000), in
 * generations of half the window: a bit set in the generation of now or the one
 * before holds, so a number stays proven between half the window and the whole
 * window after its last verified code.
 */
export interface ReturningPolicy {
  windowMs: number;
}

/** The generation a moment falls in. */
export const generationOf = (now: number, policy: ReturningPolicy) => Math.floor(now / (policy.windowMs / 2));

/** How long a generation's bits are kept: until the generation after it has ended. */
export const generationTtlMs = (policy: ReturningPolicy) => policy.windowMs;

/** A number's bit in its block: the digits the block drops, as a number (`+9198765 43210` → 210). */
export const provenIndex = (e164: string, dropDigits: number) => Number(e164.slice(-dropDigits));
