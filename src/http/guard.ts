import { Elysia } from "elysia";
import type { IpDecision, IpLimiter } from "../adapters/limits/ip-limiter";
import { addressBuckets } from "../domain/address-buckets";
import { clientAddress, type TrustProxy } from "../domain/client-ip";
import { policyName } from "../domain/rate-policy";
import { type ErrorCode, GatewayError } from "../errors";
import type { Metrics } from "../observability/metrics";
import { bearerToken, matchDigest, tokenDigest } from "./auth";
import { HeldAnswers } from "./held-answers";
import { chargedOperation, isProbe, pathOf } from "./path";
import { defaultProblemResponse, problemFor, problemResponse } from "./problem";
import { problemHeaders } from "./problem-mapping";
import { DenialHeaders } from "./rate-headers";
import type { RequestMeta, RequestMetas } from "./request-meta";

/** The socket peer's address; `server` is null under `app.handle`, so tests supply their own. */
export type PeerAddress = (
  request: Request,
  server: { requestIP(r: Request): { address: string } | null } | null,
) => string | undefined;

export const socketPeer: PeerAddress = (request, server) => server?.requestIP(request)?.address;

export interface GuardOptions {
  metas: RequestMetas;
  metrics: Metrics;
  ipLimiter: IpLimiter;
  trustProxy: TrustProxy;
  /** Caller keys (GATEWAY_API_KEYS); empty: no key needed. */
  apiKeys: readonly string[];
  peerAddress: PeerAddress;
  /** Whether the cors plugin runs before the guard; its headers then go on the guard's answers too. */
  cors: boolean;
}

/**
 * The cheap checks in front of the routes, run in onRequest: before the body
 * is read, validated or Redis is touched, so a flood of refused requests costs
 * one LRU lookup each. Order: the per-IP limit (every attempt counts, keyed or
 * not), then, for the /v1 routes (needsCallerKey), the caller key. Every other request but
 * the probes meets a per-IP limit of its own (IP_GET_LIMITS): a page, /metrics
 * or the docs asked for in a loop from one address costs a refusal each, not
 * its answer, and those refusals are held back a second (held-answers.ts), so
 * that a loop gets one a second per connection. The probes are never refused: a 429 to a load balancer's health
 * check would take the gateway out of service, and theirs are the cheapest
 * answers the gateway gives (their lines are sampled instead: request-meta.ts).
 *
 * Every POST is guarded, whatever its path: the only POST routes are the OTP
 * routes, and matching exact paths here would let a variant the router still
 * accepts (a trailing slash, an encoded letter) walk past the checks.
 *
 * The budget is chosen from `path`, the path Elysia routes on (it parses the URL
 * once, before this hook). A request whose target reads differently to the
 * router than as written (a Host header Bun finds invalid, so that the URL is a
 * bare path) is refused first: what is charged, routed and logged is one path.
 */
export function guard({ metas, metrics, ipLimiter, trustProxy, apiKeys, peerAddress, cors }: GuardOptions) {
  const keyDigests = apiKeys.map(tokenDigest);
  const denials = new DenialHeaders();
  const held = new HeldAnswers();
  // Answered here, not thrown: a refused flood skips Elysia's error path (and the
  // cost of an Error per request), so the log line and the counters that path
  // would write are written here too.
  const refuse = (
    request: Request,
    path: string,
    meta: RequestMeta,
    corsFrom: Record<string, unknown>,
    code: ErrorCode,
    headers: Record<string, string>,
    detail?: string,
  ) => {
    const problem = problemFor(code, meta.requestId, { detail });
    meta.problemStatus = problem.status;
    meta.problemCode = problem.code;
    metas.finish(meta, request.method, path, problem.status);
    if (cors) copyCorsHeaders(corsFrom, headers);
    return problemResponse(problem, headers);
  };
  const invalid = (request: Request, path: string, corsFrom: Record<string, unknown>, detail: string) =>
    refuse(request, path, metas.of(request), corsFrom, "INVALID_REQUEST", {}, detail);
  // The client's address (TRUST_PROXY says whether X-Forwarded-For is read); undefined without a peer.
  const clientOf = (request: Request, server: Parameters<PeerAddress>[1]) => {
    const peer = peerAddress(request, server);
    if (peer === undefined) return undefined;
    const forwardedFor = trustProxy.kind === "none" ? null : request.headers.get("x-forwarded-for");
    return clientAddress(peer, forwardedFor, trustProxy);
  };
  // The flood's answer, so made from parts kept per policy (rate-headers.ts, problem.ts).
  const overLimit = (
    request: Request,
    path: string,
    clientIp: string,
    { decision, policy }: IpDecision,
    corsFrom: Record<string, unknown>,
  ) => {
    metrics.rateLimited(policy.scope);
    const meta = metas.answering(request);
    meta.clientIp = clientIp;
    meta.problemStatus = 429;
    meta.problemCode = "RATE_LIMITED";
    meta.rule = `limit:${policyName(policy.scope, decision.policy)}`;
    metas.finish(meta, request.method, path, 429, policy.scope);
    const response = defaultProblemResponse("RATE_LIMITED", meta.requestId, denials.of(policy, decision));
    if (cors) copyCorsHeaders(corsFrom, response.headers);
    return request.method === "POST" ? response : held.hold(response);
  };
  // A request to the /v1 routes, when GATEWAY_API_KEYS is set: refused without one of the keys.
  const refuseWithoutKey = (
    request: Request,
    path: string,
    meta: RequestMeta,
    corsFrom: Record<string, unknown>,
  ) => {
    // A short id of the accepted key: scopes idempotency keys per caller.
    meta.callerId = matchDigest(bearerToken(request.headers.get("authorization")), keyDigests)
      ?.toString("hex")
      .slice(0, 16);
    if (meta.callerId) return undefined;
    return refuse(
      request,
      path,
      meta,
      corsFrom,
      "UNAUTHORIZED",
      problemHeaders(new GatewayError("UNAUTHORIZED")),
    );
  };
  // onRequest hooks run for every request of the app, before routing.
  return new Elysia({ name: "guard" }).onRequest((context) => {
    const { request, server, set } = context;
    // Elysia's parse of the URL, the one its router uses: in the context at run time, though not in
    // its PreContext type. Were it ever missing, every request would be refused here (fail closed).
    const routed = (context as unknown as { path?: string }).path;
    const path = pathOf(request.url);
    if (routed !== path) {
      return invalid(request, path, set.headers, "The Host header is not a valid host name.");
    }
    const post = request.method === "POST";
    if (isProbe(request.method, path)) return;
    const clientIp = clientOf(request, server);
    // A peer gone before its request is read (a reset) has no address: it must not share one
    // "unknown" bucket with every other such request (a second per-IP budget); nobody reads this.
    if (clientIp === undefined) {
      return invalid(request, path, set.headers, "The client's address could not be read.");
    }
    const charged = ipLimiter.hit(post ? chargedOperation(path) : "get", addressBuckets(clientIp));
    if (charged && !charged.decision.allowed) return overLimit(request, path, clientIp, charged, set.headers);
    const meta = metas.of(request);
    meta.clientIp = clientIp;
    if (keyDigests.length > 0 && needsCallerKey(request.method, path)) {
      return refuseWithoutKey(request, path, meta, set.headers);
    }
  });
}

/**
 * Whether a request needs a caller key (with GATEWAY_API_KEYS): every POST and DELETE, whatever the path
 * (their only routes are the OTP routes), and a GET or HEAD of anything that reads as /v1 (a
 * verification's status), however it is spelled, so that no spelling the router accepts walks past.
 */
function needsCallerKey(method: string, path: string): boolean {
  if (method === "POST" || method === "DELETE") return true;
  if (method !== "GET" && method !== "HEAD") return false;
  if (path.startsWith("/v1/")) return true;
  try {
    return decodeURIComponent(path).toLowerCase().includes("/v1");
  } catch {
    return true; // undecodable: ask for the key
  }
}

/** CORS headers an earlier onRequest hook (the cors plugin) put on `set`, copied onto an answer built here. */
function copyCorsHeaders(from: Record<string, unknown>, to: Record<string, string> | Headers): void {
  for (const name in from) {
    if (!name.startsWith("access-control-") && name !== "vary") continue;
    if (to instanceof Headers) to.set(name, String(from[name]));
    else to[name] = String(from[name]);
  }
}
