import type { KeyTaken } from "../admission";
import type { ScriptedRedis } from "./client";
import { idempotencyKey, idempotencyOwnerKey } from "./keys";
import { CLAIM_REPLY } from "./replies";

/**
 * Idempotency-Keys on Redis: a key's claim and answer under its phone's hash tag
 * (a send's admission step claims it there, with the phone's windows), and its
 * binding to one phone under the key's own (what finds a key that a phone of
 * another range claimed).
 */
export class RedisIdempotency {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
    /** Digits a phone's keys drop for their hash tag. */
    private readonly digits: number,
  ) {}

  /** A test number's claim (it has no admission step): undefined when the key was free and is now `phone`'s. */
  async claim(key: string, phone: string, pendingMs: number): Promise<KeyTaken | undefined> {
    const reply = await this.call(() =>
      this.redis.otpClaimIdempotency(this.#claimKey(key, phone), phone, pendingMs),
    );
    const state = reply[CLAIM_REPLY.state];
    if (state === "new") return undefined;
    if (state === "done") return { state, answer: reply[CLAIM_REPLY.answer] ?? "" };
    return { state: state as "pending" | "conflict" };
  }

  own(key: string, phone: string, ttlMs: number): Promise<"new" | "same" | "other"> {
    return this.call(() => this.redis.otpOwnIdempotency(idempotencyOwnerKey(key), phone, ttlMs));
  }

  async complete(key: string, phone: string, answer: string, ttlMs: number): Promise<void> {
    const record = JSON.stringify({ f: phone, a: answer });
    await Promise.all([
      this.call(() => this.redis.set(this.#claimKey(key, phone), record, "PX", ttlMs)),
      this.call(() => this.redis.set(idempotencyOwnerKey(key), phone, "PX", ttlMs)),
    ]);
  }

  /**
   * Frees `phone`'s pending claim for a retry, keeping its retries and its binding to the phone for
   * `keepMs` (the send may have gone out: the key stays this phone's); an answer, or another
   * phone's claim, stays.
   */
  async release(key: string, phone: string, keepMs: number): Promise<void> {
    const ttl = Math.max(1, keepMs);
    const released = await this.call(() =>
      this.redis.otpReleaseIdempotency(this.#claimKey(key, phone), phone, "release", ttl),
    );
    if (released === 1) await this.call(() => this.redis.set(idempotencyOwnerKey(key), phone, "PX", ttl));
  }

  /** Drops `phone`'s pending claim (and its binding): its send went nowhere. */
  cancel(key: string, phone: string): Promise<void> {
    return this.#drop(key, phone, "cancel");
  }

  /** Frees `phone`'s claim whatever it holds, an answer stored without its record too. */
  forget(key: string, phone: string): Promise<void> {
    return this.#drop(key, phone, "forget");
  }

  /** Takes back a binding this request made (`new`) when it kept no claim; never another phone's. */
  async unbind(key: string, phone: string): Promise<void> {
    await this.call(() => this.redis.otpDeleteIf(idempotencyOwnerKey(key), phone));
  }

  async #drop(key: string, phone: string, how: "cancel" | "forget"): Promise<void> {
    const released = await this.call(() =>
      this.redis.otpReleaseIdempotency(this.#claimKey(key, phone), phone, how, 1),
    );
    // The key's binding to the phone goes with the phone's record, never another phone's binding.
    if (released === 1) await this.unbind(key, phone);
  }

  #claimKey(key: string, phone: string): string {
    return idempotencyKey(key, phone, this.digits);
  }
}
