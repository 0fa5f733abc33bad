import type { PumpingPolicy } from "./pumping";

/** How a store keys prefixes: the block's digits and its range's (0: no ranges). */
export interface PrefixLayout {
  dropDigits: number;
  rangeDropDigits: number;
}

/** The wider range a block is judged in as well, or undefined when the layout has none. */
export function rangeOf(block: string, layout: PrefixLayout): string | undefined {
  const more = layout.rangeDropDigits - layout.dropDigits;
  return more > 0 ? block.slice(0, -more) : undefined;
}

/** The digits a phone's store keys drop for their hash tag: its range's, or its block's with no ranges. */
export const tagDigits = (layout: PrefixLayout) => Math.max(layout.dropDigits, layout.rangeDropDigits);

/**
 * A range is judged as a block is, on the same number of sends, but blocked
 * only below half the conversion: it holds 100 blocks of other people's
 * numbers, so only traffic that is mostly pumped may close it.
 */
export const rangePolicy = (policy: PumpingPolicy): PumpingPolicy => ({ ...policy, minConversion: policy.minConversion / 2 });
