import { createHash, timingSafeEqual } from "node:crypto";
import { GatewayError } from "../errors";

/** The Bearer challenge of the OTP routes (GATEWAY_API_KEYS). */
export const BEARER_CHALLENGE = 'Bearer realm="otp-gateway"';

/** A token's SHA-256: equal-length values, so comparing them takes the same time whatever was sent. */
export const tokenDigest = (value: string): Buffer => createHash("sha256").update(value).digest();

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | null): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** The password of `Authorization: Basic <base64 user:password>`, or undefined. */
export function basicPassword(header: string | null): string | undefined {
  const encoded = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1] : undefined;
  if (encoded === undefined) return undefined;
  return Buffer.from(encoded, "base64").toString("utf8").split(":").slice(1).join(":");
}

/**
 * Which of `digests` the token matches, compared in constant time against
 * every one (no early exit tells which one was close); undefined for none.
 */
export function matchDigest(token: string | undefined, digests: readonly Buffer[]): Buffer | undefined {
  if (token === undefined) return undefined;
  const given = tokenDigest(token);
  let accepted: Buffer | undefined;
  for (const digest of digests) if (timingSafeEqual(given, digest)) accepted = digest;
  return accepted;
}

/** An UNAUTHORIZED answer with its own `WWW-Authenticate` challenge (the operator routes' Basic one). */
export class AuthChallenge extends GatewayError {
  constructor(
    detail: string,
    readonly challenge: string,
  ) {
    super("UNAUTHORIZED", { detail });
  }
}
