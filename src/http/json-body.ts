import { GatewayError } from "../errors";
import { readCapped } from "../lib/read-capped";

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

const tooLarge = (maxBodySize: number) =>
  new GatewayError("PAYLOAD_TOO_LARGE", { detail: `The body may be at most ${maxBodySize} bytes.` });

/** Cheap refusal of a declared oversize body, before anything reads it. */
export function checkDeclaredLength(request: Request, maxBodySize: number): void {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBodySize) throw tooLarge(maxBodySize);
}

/**
 * The only body parser: JSON and nothing else, at most `maxBodySize` bytes as
 * they came (a chunked body declares no length), and no field named toString.
 */
export async function parseJsonBody(request: Request, maxBodySize: number): Promise<unknown> {
  // Only POST routes take a body; the operator's PUT and DELETE routes read none.
  if (request.method !== "POST") return null;
  // The header itself: Elysia hands its parser no content type when the body is empty, and an
  // empty JSON body is a bad request (400), not the wrong media type.
  if (!JSON_TYPE.test(request.headers.get("content-type") ?? "")) {
    throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", { detail: "Send the body as JSON with Content-Type: application/json." });
  }
  const bytes = await readCapped(request.body, maxBodySize);
  if (!bytes) throw tooLarge(maxBodySize);
  const text = bytes.toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new GatewayError("INVALID_REQUEST", { detail: "The body is not valid JSON." });
  }
  // Elysia (1.4, outside production mode) formats a failed value into its
  // validation message with a template string; an object whose own `toString`
  // is not a function makes that throw, which would surface as a 500. No valid
  // body has such a key, so refuse it here. Found by the property tests.
  if (shadowsToString(body)) throw new GatewayError("INVALID_REQUEST", { detail: "The body has a field named toString." });
  return body;
}

function shadowsToString(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Object.hasOwn(value, "toString")) return true;
  return Object.values(value).some(shadowsToString);
}
