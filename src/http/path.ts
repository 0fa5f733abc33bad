import type { OtpOperation } from "../domain/operation";

/**
 * The path of the request target as the client wrote it, without building a URL
 * object (hot path). Bun gives an absolute URL, or only the path when it found
 * the Host header invalid (`a b`, `x/y`).
 */
export function pathOf(url: string): string {
  const start = url.startsWith("/") ? 0 : url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

/** The operation of an exact route path, or undefined for any other path. */
export function otpOperation(path: string): OtpOperation | undefined {
  if (path === "/v1/otp/send") return "send";
  if (path === "/v1/otp/verify") return "verify";
  return undefined;
}

/**
 * The budget a POST to any path is charged against: its route's, or for a
 * spelling no route has (a trailing slash, an encoded letter) verify when it
 * names `/verify` and the stricter send otherwise.
 */
export function chargedOperation(path: string): OtpOperation {
  const exact = otpOperation(path);
  if (exact) return exact;
  if (!path.includes("%")) return path.toLowerCase().includes("/verify") ? "verify" : "send";
  try {
    return decodeURIComponent(path).toLowerCase().includes("/verify") ? "verify" : "send";
  } catch {
    return "send"; // undecodable: counted against the stricter send budget
  }
}

/** A load balancer's or orchestrator's probe: GET (or HEAD) of /healthz or /readyz. */
export const isProbe = (method: string, path: string) =>
  (method === "GET" || method === "HEAD") && (path === "/healthz" || path === "/readyz");

/** Routes whose answers are timed under their own name; the rest by their first segment, or `other`. */
const TIMED_ROUTES = new Set([
  "/v1/otp/send",
  "/v1/otp/verify",
  "/healthz",
  "/readyz",
  "/metrics",
  "/swagger",
  "/swagger/json",
  "/",
]);
const TIMED_PREFIXES = ["/admin", "/problems", "/swagger"];

/** A request's route for the answer-time histogram: a bounded set, whatever paths clients make up. */
export function routeLabel(path: string): string {
  if (TIMED_ROUTES.has(path)) return path;
  if (path.startsWith("/v1/otp/") && !path.includes("/", 8)) return "/v1/otp/{verificationId}";
  return TIMED_PREFIXES.find((prefix) => path.startsWith(`${prefix}/`)) ?? "other";
}
