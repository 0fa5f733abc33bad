import { policyName, type RatePolicy } from "../domain/rate-policy";
import type { RateDecision } from "../domain/rate-window";
import type { RateLimitInfo } from "../errors";
import { PROBLEM_CONTENT_TYPE } from "./problem";

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

/** Denials' headers kept per policy and window at most; past this that window's are made afresh. */
const MAX_KEPT = 1_024;

/**
 * The headers of a denial (rateLimitHeaders plus the problem's content type) as
 * a Headers object, made once per policy, deciding window and wait, and copied
 * into each answer: Bun copies a Headers object into a Response in about half
 * the time it takes to build one from a plain object. A denial's wait moves
 * once a second, so a flood from one address reuses one object a second.
 */
export class DenialHeaders {
  readonly #kept = new Map<RatePolicy, Map<string, Map<number, Headers>>>();

  of(policy: RatePolicy, decision: RateDecision): Headers {
    // A denial has nothing remaining and resets when it may be retried (rate-window.ts): the wait is the key.
    const wait = decision.retryAfterSeconds;
    if (decision.allowed || decision.remaining !== 0 || decision.resetSeconds !== wait) {
      return denialHeaders(policy, decision);
    }
    let byWindow = this.#kept.get(policy);
    if (!byWindow) {
      byWindow = new Map();
      this.#kept.set(policy, byWindow);
    }
    let byWait = byWindow.get(decision.policy);
    if (!byWait) {
      byWait = new Map();
      byWindow.set(decision.policy, byWait);
    }
    let headers = byWait.get(wait);
    if (!headers) {
      if (byWait.size >= MAX_KEPT) byWait.clear();
      headers = denialHeaders(policy, decision);
      byWait.set(wait, headers);
    }
    return headers;
  }
}

function denialHeaders(policy: RatePolicy, decision: RateDecision): Headers {
  const headers = new Headers(rateLimitHeaders({ policy, decision }));
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  return headers;
}
