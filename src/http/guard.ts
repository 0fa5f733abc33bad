import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import type { IpLimiter, IpScope } from "../adapters/limits/ip-limiter";
import { GatewayError, type ErrorCode } from "../errors";
import { clientAddress, ipBucket, type TrustProxy } from "./client-ip";
import { problemFor, problemResponse } from "./problem";
import { pathOf, problemHeaders, type RequestMetas } from "./request-context";
import { rateLimitHeaders } from "./rate-headers";
import type { Metrics } from "../lib/metrics";

/** The socket peer's address; `server` is null under `app.handle`, so tests supply their own. */
export type PeerAddress = (request: Request, server: { requestIP(r: Request): { address: string } | null } | null) => string | undefined;

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


const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * The cheap checks in front of the OTP routes, run in onRequest: before the body
 * is read, validated or Redis is touched, so a flood of refused requests costs
 * one LRU lookup each. Order: the per-IP limit (every attempt counts, keyed or
 * not), then the caller key.
 *
 * Every POST is guarded, whatever its path: the only POST routes are the OTP
 * routes, and matching exact paths here would let a variant the router still
 * accepts (a trailing slash, an encoded letter) walk past the checks.
 */
export function guard({ metas, metrics, ipLimiter, trustProxy, apiKeys, peerAddress, cors }: GuardOptions) {
  const keyDigests = apiKeys.map(digest);
  // onRequest hooks run for every request of the app, before routing.
  return new Elysia({ name: "guard" }).onRequest(({ request, server, set }) => {
    if (request.method !== "POST") return;
    const path = pathOf(request.url);
    const scope: IpScope = isVerifyPath(path) ? "verify" : "send";
    const meta = metas.of(request);
    meta.clientIp = clientAddress(peerAddress(request, server), request.headers.get("x-forwarded-for"), trustProxy);
    const decision = ipLimiter.hit(scope, ipBucket(meta.clientIp));
    // Answered here, not thrown: a refused flood skips Elysia's error path (and the
    // cost of an Error per request), so the log line and the counters that path
    // would write are written here too.
    const refuse = (code: ErrorCode, headers: Record<string, string>) => {
      const problem = problemFor(code, meta.requestId);
      meta.problemStatus = problem.status;
      meta.problemCode = problem.code;
      metas.finish(meta, request.method, path, problem.status);
      if (cors) copyCorsHeaders(set.headers, headers);
      return problemResponse(problem, headers);
    };
    if (!decision.allowed) {
      metrics.rateLimited("ip");
      return refuse("RATE_LIMITED", rateLimitHeaders({ scope: "ip", windows: ipLimiter.windows(scope), decision }));
    }
    if (keyDigests.length > 0) {
      meta.callerId = acceptedKey(request.headers.get("authorization"), keyDigests);
      if (!meta.callerId) return refuse("UNAUTHORIZED", problemHeaders(new GatewayError("UNAUTHORIZED")));
    }
  });
}

/** CORS headers an earlier onRequest hook (the cors plugin) put on `set`, copied onto an answer built here. */
function copyCorsHeaders(from: Record<string, unknown>, to: Record<string, string>): void {
  for (const name in from) if (name.startsWith("access-control-") || name === "vary") to[name] = String(from[name]);
}

/**
 * Compares digests in constant time, against every key (no early exit tells
 * which one was close). Returns a short id of the accepted key.
 */
function acceptedKey(header: string | null, keyDigests: Buffer[]): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const given = digest(match[1]!);
  let accepted: Buffer | undefined;
  for (const key of keyDigests) if (timingSafeEqual(given, key)) accepted = key;
  return accepted?.toString("hex").slice(0, 16);
}

function isVerifyPath(path: string): boolean {
  if (path === "/v1/otp/send") return false;
  if (path === "/v1/otp/verify") return true;
  if (!path.includes("%")) return path.toLowerCase().includes("/verify");
  try {
    return decodeURIComponent(path).toLowerCase().includes("/verify");
  } catch {
    return false; // undecodable: counted against the stricter send budget
  }
}
