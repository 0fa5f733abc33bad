import { randomBytes } from "node:crypto";
import { phoneTag } from "../../../domain/ids";
import type { ScriptedRedis } from "./client";
import { TAG_SECRET_KEY } from "./keys";

/**
 * The secret the tags of verification ids are keyed with, shared by every
 * gateway on one Redis: the first to ask makes it (SET NX), the rest read it.
 * A Redis may lose it (a restart of a server that keeps nothing on disk, a
 * FLUSHALL, a Cluster node restarted): so each gateway offers back the secret
 * it holds, after every reconnect and every `refreshMs`, and takes whatever
 * stands. Gateways that disagree for a moment (one started while the key was
 * gone) agree again within one refresh; meanwhile a phone's verifies are
 * counted under two tags.
 */
export class TagSecret {
  #secret: Buffer | undefined;
  /** The last secret read, in hex: what this gateway offers back. */
  #known: string | undefined;
  #reading: Promise<Buffer> | undefined;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
    refreshMs = 10_000,
  ) {
    // After a reconnect the next send asks first (one round trip), offering what it knew.
    redis.on("ready", () => {
      this.#secret = undefined;
      this.#reading = undefined;
    });
    this.#timer = setInterval(() => {
      if (this.#known) this.#read().catch(() => undefined); // a failed refresh is tried again next time
    }, refreshMs);
    this.#timer.unref();
  }

  /** `phone`'s tag: at once when the secret is known, else after one round trip. */
  tag(phone: string): string | Promise<string> {
    if (this.#secret) return phoneTag(this.#secret, phone);
    this.#reading ??= this.#read().catch((err) => {
      this.#reading = undefined; // the next send asks again
      throw err;
    });
    return this.#reading.then((secret) => phoneTag(secret, phone));
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #read(): Promise<Buffer> {
    const offer = this.#known ?? randomBytes(32).toString("hex");
    const hex = await this.call(() => this.redis.otpTagSecret(TAG_SECRET_KEY, offer));
    if (hex !== this.#known || !this.#secret) {
      this.#known = hex;
      this.#secret = Buffer.from(hex, "hex");
    }
    return this.#secret;
  }
}
