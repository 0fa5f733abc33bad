import type { RateLimitInfo } from "../errors";

/**
 * Retry-After plus the IETF RateLimit-Policy / RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers: `"name";q=quota;w=window` and
 * `"name";r=remaining;t=reset`, as structured-field lists). Policies are named
 * `<scope>-<window>`, e.g. `phone-10m`; they restate the public configuration.
 */
export function rateLimitHeaders({ scope, windows, decision }: RateLimitInfo): Record<string, string> {
  const name = (label: string) => `${scope}-${label.split("/")[1]}`;
  return {
    "retry-after": String(decision.retryAfterSeconds),
    "ratelimit-policy": windows.map((w) => `"${name(w.label)}";q=${w.limit};w=${Math.ceil(w.windowMs / 1000)}`).join(", "),
    ratelimit: `"${name(decision.policy)}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}
