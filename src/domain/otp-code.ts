import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * A uniformly random numeric code from the OS CSPRNG. Rejection sampling keeps
 * every digit uniform (a plain `byte % 10` would favour 0–5).
 */
export function generateCode(length: number): string {
  let code = "";
  while (code.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 250 && code.length < length) code += String(byte % 10);
    }
  }
  return code;
}

/** Keyed digests so a stored code cannot be brute-forced offline from a memory dump. */
export class CodeHasher {
  readonly #key = randomBytes(32);

  digest(requestId: string, code: string): Buffer {
    return createHmac("sha256", this.#key).update(requestId).update("\0").update(code).digest();
  }

  /** Constant-time comparison of a candidate code against a stored digest. */
  matches(requestId: string, code: string, stored: Buffer): boolean {
    return timingSafeEqual(this.digest(requestId, code), stored);
  }
}
