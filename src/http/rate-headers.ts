import type { RateLimitInfo } from "../errors";
import type { Window } from "../lib/rate-window";

/**
 * Retry-After plus the IETF RateLimit-Policy / RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers: `"name";q=quota;w=window` and
 * `"name";r=remaining;t=reset`, as structured-field lists). Policies are named
 * `<scope>-<window>`, e.g. `phone-10m`; they restate the public configuration.
 */
export function rateLimitHeaders({ scope, windows, decision }: RateLimitInfo): Record<string, string> {
  return {
    "retry-after": String(decision.retryAfterSeconds),
    "ratelimit-policy": policyHeader(scope, windows),
    ratelimit: `"${policyName(scope, decision.policy)}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}

const policyName = (scope: string, label: string) => `${scope}-${label.split("/")[1]}`;

/** The configured windows never change, so each scope's RateLimit-Policy is written once. */
const policies = new WeakMap<readonly Window[], Map<string, string>>();

function policyHeader(scope: string, windows: readonly Window[]): string {
  let byScope = policies.get(windows);
  if (!byScope) policies.set(windows, (byScope = new Map()));
  let header = byScope.get(scope);
  if (header === undefined) {
    header = windows.map((w) => `"${policyName(scope, w.label)}";q=${w.limit};w=${Math.ceil(w.windowMs / 1000)}`).join(", ");
    byScope.set(scope, header);
  }
  return header;
}
