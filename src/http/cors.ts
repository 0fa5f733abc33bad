import { Elysia } from "elysia";
import { otpOperation, pathOf } from "./path";
import type { RequestMetas } from "./request-meta";

/** What a browser app may read of an answer besides the simple headers. */
const EXPOSED = "x-request-id, retry-after, ratelimit, ratelimit-policy, idempotent-replayed";
const ALLOWED_HEADERS = "content-type, authorization, idempotency-key, x-request-id";

/**
 * CORS for the OTP routes only (CORS_ORIGINS): a browser app may call send and
 * verify; the admin routes, /metrics and the docs get no CORS headers at all, so
 * no other site can read them with an operator's cached login. No credentials
 * either: the gateway uses no cookies. An origin is allowed when it equals a
 * listed one exactly (`*`: any), compared as a string, never looked up on an
 * object (`Origin: constructor` is no origin).
 */
export function cors(origins: readonly string[], metas: RequestMetas) {
  const any = origins.includes("*");
  const listed = new Set(origins.map(canonicalOrigin));
  return new Elysia({ name: "cors" }).onRequest(({ request, set }) => {
    const origin = request.headers.get("origin");
    if (origin === null) return;
    const path = pathOf(request.url);
    if (!otpOperation(path)) return;
    if (!any) set.headers.vary = "Origin";
    if (!any && !listed.has(origin)) return;
    set.headers["access-control-allow-origin"] = any ? "*" : origin;
    if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
      const meta = metas.of(request);
      metas.finish(meta, request.method, path, 204);
      return new Response(null, {
        status: 204,
        headers: {
          ...(set.headers as Record<string, string>),
          "access-control-allow-methods": "POST, OPTIONS",
          "access-control-allow-headers": ALLOWED_HEADERS,
          "access-control-max-age": "600",
          allow: "POST, OPTIONS",
          "x-request-id": meta.requestId,
        },
      });
    }
    set.headers["access-control-expose-headers"] = EXPOSED;
  });
}

/** An origin as browsers send it: scheme and host in lower case, no trailing slash. */
export function canonicalOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, "").toLowerCase();
}
