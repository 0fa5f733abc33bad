import { createHash, timingSafeEqual } from "node:crypto";
import { GatewayError } from "../errors";

/** Who may read /metrics or the docs: anyone, holders of ADMIN_TOKEN, or nobody (the routes are not mounted). */
export type AdminAccess = "public" | "token" | "off";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * A check for operator routes. Accepts `Authorization: Bearer <ADMIN_TOKEN>`
 * (scrapers) or HTTP Basic with the token as password (a browser prompts for
 * it on the Swagger UI and sends it for the page's own requests).
 */
export function adminCheck(access: AdminAccess, token: string): (request: Request) => void {
  if (access !== "token") return () => {};
  const expected = digest(token);
  return (request) => {
    const header = request.headers.get("authorization") ?? "";
    let given: string | undefined;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer) given = bearer[1];
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (basic) given = Buffer.from(basic[1]!, "base64").toString("utf8").split(":").slice(1).join(":");
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new GatewayError("UNAUTHORIZED", {
        detail: "This operator route needs the ADMIN_TOKEN (Bearer, or Basic with the token as password).",
        // Basic first: a browser then prompts, and the Swagger UI's own requests carry it.
        challenge: 'Basic realm="otp-gateway admin", Bearer realm="otp-gateway admin"',
      });
    }
  };
}
