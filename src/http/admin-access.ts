import { AuthChallenge, basicPassword, bearerToken, matchDigest, tokenDigest } from "./auth";

/** Who may read /metrics or the docs: anyone, holders of ADMIN_TOKEN, or nobody (the routes are not mounted). */
export type AdminAccess = "public" | "token" | "off";

/**
 * A check for operator routes. Accepts `Authorization: Bearer <ADMIN_TOKEN>`
 * (scrapers) or HTTP Basic with the token as password (a browser prompts for
 * it on the Swagger UI and sends it for the page's own requests).
 */
export function adminCheck(access: AdminAccess, token: string): (request: Request) => void {
  if (access !== "token") return () => {};
  const expected = [tokenDigest(token)];
  return (request) => {
    const header = request.headers.get("authorization");
    if (!matchDigest(bearerToken(header) ?? basicPassword(header), expected)) {
      throw new AuthChallenge(
        "This operator route needs the ADMIN_TOKEN (Bearer, or Basic with the token as password).",
        // Basic first: a browser then prompts, and the Swagger UI's own requests carry it.
        'Basic realm="otp-gateway admin", Bearer realm="otp-gateway admin"',
      );
    }
  };
}
