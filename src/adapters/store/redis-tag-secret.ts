import { randomBytes } from "node:crypto";
import { phoneTag } from "../../lib/ids";
import type { ScriptedRedis } from "./redis-client";
import { TAG_SECRET_KEY } from "./redis-keys";

/**
 * The secret the tags of verification ids are keyed with, shared by every
 * gateway on one Redis: the first to ask makes it (SET NX), the rest read it.
 * Read once per connection and kept: read again after every reconnect, since a
 * Redis that restarted empty (it may keep nothing on disk) makes a new one, and
 * every gateway must then agree on the new one.
 */
export class TagSecret {
  #secret: Buffer | undefined;
  #reading: Promise<Buffer> | undefined;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
  ) {
    redis.on("ready", () => {
      this.#secret = undefined;
      this.#reading = undefined;
    });
  }

  /** `phone`'s tag: at once when the secret is known, else after one round trip. */
  tag(phone: string): string | Promise<string> {
    if (this.#secret) return phoneTag(this.#secret, phone);
    this.#reading ??= this.call(() => this.redis.otpTagSecret(TAG_SECRET_KEY, randomBytes(32).toString("hex"))).then(
      (hex) => (this.#secret = Buffer.from(hex, "hex")),
      (err) => {
        this.#reading = undefined; // the next send asks again
        throw err;
      },
    );
    return this.#reading.then((secret) => phoneTag(secret, phone));
  }
}
