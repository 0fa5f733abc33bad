import type { RateLimitInfo } from "../errors";
import { policyName } from "../lib/rate-policy";

/**
 * Retry-After plus the IETF RateLimit-Policy / RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers: `"name";q=quota;w=window` and
 * `"name";r=remaining;t=reset`, as structured-field lists). They restate the
 * public configuration; the policy's field is written once, when it is built.
 */
export function rateLimitHeaders({ policy, decision }: RateLimitInfo): Record<string, string> {
  return {
    "retry-after": String(decision.retryAfterSeconds),
    "ratelimit-policy": policy.header,
    ratelimit: `"${policyName(policy.scope, decision.policy)}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}
