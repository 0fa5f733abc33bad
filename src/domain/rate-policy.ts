import type { Window } from "./rate-window";

/**
 * Which limit a policy is: per phone (sends), per phone (verifies), per client address or per subnet
 * (sends and verifies), or per client address and per subnet for every other route (`get`, `get-subnet`).
 */
export type PolicyScope = "phone" | "verify" | "ip" | "subnet" | "get" | "get-subnet" | "delivery";

/**
 * A limit set as one value, built once at start (src/composition-root.ts) and handed to
 * the store, the IP limiter and the header writer: its windows, the
 * RateLimit-Policy field that restates them, and the store script's arguments.
 */
export interface RatePolicy {
  /** Names the policies in the RateLimit fields (`phone-10m`) and the rate-limited metric. */
  readonly scope: PolicyScope;
  readonly windows: readonly Window[];
  /** The RateLimit-Policy field (draft-ietf-httpapi-ratelimit-headers): `"phone-1m";q=1;w=60, …`. */
  readonly header: string;
  /** Limit and window ms of each window in turn, as the Redis script reads them. */
  readonly scriptArgs: readonly number[];
  /** The largest limit: how many of the newest events an exact decision needs. */
  readonly maxLimit: number;
  /** The longest window in ms: how long an event can still matter. */
  readonly longestMs: number;
}

/** A policy's name in the RateLimit fields: the scope and the window's duration, e.g. `phone-10m`. */
export const policyName = (scope: PolicyScope, label: string) => `${scope}-${label.split("/")[1]}`;

export function ratePolicy(scope: PolicyScope, windows: readonly Window[]): RatePolicy {
  return {
    scope,
    windows,
    header: windows
      .map((w) => `"${policyName(scope, w.label)}";q=${w.limit};w=${Math.ceil(w.windowMs / 1000)}`)
      .join(", "),
    scriptArgs: windows.flatMap((w) => [w.limit, w.windowMs]),
    maxLimit: Math.max(...windows.map((w) => w.limit)),
    longestMs: Math.max(...windows.map((w) => w.windowMs)),
  };
}
