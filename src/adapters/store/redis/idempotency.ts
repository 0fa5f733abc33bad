import type { IdempotencyClaim } from "../port";
import type { ScriptedRedis } from "./client";
import { idempotencyKey, idempotencyOwnerKey } from "./keys";

/**
 * Idempotency-Keys on Redis: a key's claim and answer under its phone's hash tag
 * (the send's admission step claims it there, with the phone's windows), and its
 * binding to one phone under the key's own.
 */
export class RedisIdempotency {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
    /** Digits a phone's keys drop for their hash tag. */
    private readonly digits: number,
  ) {}

  async claim(key: string, phone: string, pendingMs: number): Promise<IdempotencyClaim> {
    const [state, answer] = await this.call(() =>
      this.redis.otpClaimIdempotency(idempotencyKey(key, phone, this.digits), phone, pendingMs),
    );
    if (state === "done") return { state, answer: answer ?? "" };
    return { state: state as "new" | "pending" | "conflict" };
  }

  own(key: string, phone: string, pendingMs: number): Promise<"new" | "same" | "other"> {
    return this.call(() => this.redis.otpOwnIdempotency(idempotencyOwnerKey(key), phone, pendingMs));
  }

  async complete(key: string, phone: string, answer: string, ttlMs: number): Promise<void> {
    const record = JSON.stringify({ f: phone, a: answer });
    await Promise.all([
      this.call(() => this.redis.set(idempotencyKey(key, phone, this.digits), record, "PX", ttlMs)),
      this.call(() => this.redis.set(idempotencyOwnerKey(key), phone, "PX", ttlMs)),
    ]);
  }

  async release(key: string, phone: string, answered: boolean): Promise<void> {
    const released = await this.call(() =>
      this.redis.otpReleaseIdempotency(idempotencyKey(key, phone, this.digits), phone, answered ? 1 : 0),
    );
    // The key's binding to the phone goes with the phone's record, never another phone's binding.
    if (released === 1) await this.unbind(key, phone);
  }

  async unbind(key: string, phone: string): Promise<void> {
    await this.call(() => this.redis.otpDeleteIf(idempotencyOwnerKey(key), phone));
  }
}
