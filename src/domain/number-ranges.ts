import { type PumpingPolicy, pumpScriptArgs } from "./pumping";

/** How a store keys prefixes: the block's digits and its range's (0: no ranges). */
export interface PrefixLayout {
  dropDigits: number;
  rangeDropDigits: number;
}

/** PUMPING_PREFIX_DROP and PUMPING_RANGE_DROP at their defaults: blocks of 1 000 numbers, ranges of 100 blocks. */
export const DEFAULT_LAYOUT: PrefixLayout = { dropDigits: 3, rangeDropDigits: 5 };

/** A block or range as it may be logged: its dropped digits as `*`, never a full number. */
export const shownPrefix = (prefix: string, dropped: number) => `${prefix}${"*".repeat(dropped)}`;

/** The wider range a block is judged in as well, or undefined when the layout has none. */
export function rangeOf(block: string, layout: PrefixLayout): string | undefined {
  const more = layout.rangeDropDigits - layout.dropDigits;
  return more > 0 ? block.slice(0, -more) : undefined;
}

/** The digits a phone's store keys drop for their hash tag: its range's, or its block's with no ranges. */
export const tagDigits = (layout: PrefixLayout) => Math.max(layout.dropDigits, layout.rangeDropDigits);

/** A range needs this many times a block's judged sends before it can be blocked. */
export const RANGE_EVIDENCE = 5;

/**
 * A range is judged as a block is, but on RANGE_EVIDENCE times the sends and
 * blocked only below half the conversion: it holds 100 blocks of other people's
 * numbers, so only much traffic that is mostly pumped may close it (one send to
 * each of 20 blocks must not).
 */
export const rangePolicy = (policy: PumpingPolicy): PumpingPolicy => ({
  ...policy,
  minSends: policy.minSends * RANGE_EVIDENCE,
  minConversion: policy.minConversion / 2,
});

const scriptArgs = new WeakMap<PumpingPolicy, { block: string; range: string }>();

/**
 * pump_check's arguments after the number, for a block and for its range, each
 * joined by commas as admit.lua takes them, worked out once per policy (a
 * process judges by a handful: CountryWatch hands out two).
 */
export function pumpArgsFor(policy: PumpingPolicy): { block: string; range: string } {
  let args = scriptArgs.get(policy);
  if (!args) {
    args = { block: pumpScriptArgs(policy).join(","), range: pumpScriptArgs(rangePolicy(policy)).join(",") };
    scriptArgs.set(policy, args);
  }
  return args;
}
