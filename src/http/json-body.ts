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
    throw new GatewayError("UNSUPPORTED_MEDIA_TYPE", {
      detail: "Send the body as JSON with Content-Type: application/json.",
    });
  }
  // A declared length was checked in onRequest and frames the body exactly: read it whole (fast).
  // A chunked body declares none: count it as it arrives and stop at the cap.
  let text: string;
  if (request.headers.has("content-length")) text = await request.text();
  else {
    const bytes = await readCapped(request.body, maxBodySize);
    if (!bytes) throw tooLarge(maxBodySize);
    text = bytes.toString("utf8");
  }
  // No valid body nests: refuse deep ones before anything recurses into them (Elysia's
  // validation message formats a value recursively and overflows the stack on ~4 500 levels).
  if (nestingDepth(text) > MAX_DEPTH) {
    throw new GatewayError("INVALID_REQUEST", { detail: "The body nests too deeply." });
  }
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
  if (shadowsToString(body)) {
    throw new GatewayError("INVALID_REQUEST", { detail: "The body has a field named toString." });
  }
  return body;
}

/** Deeper than any body of this API (they are flat objects), well short of any recursion limit. */
const MAX_DEPTH = 8;

/** How deeply the JSON text nests arrays and objects, strings skipped; a linear scan, no recursion. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = closingQuote(text, i + 1);
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Where the string whose text starts at `from` ends: its closing quote, or the end of an unclosed one. */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c)
      i++; // a backslash escapes the next character
    else if (c === 0x22) return i;
  }
  return text.length;
}

function shadowsToString(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Object.hasOwn(value, "toString")) return true;
  return Object.values(value).some(shadowsToString);
}
