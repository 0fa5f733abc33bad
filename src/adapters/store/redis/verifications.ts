import type { VerificationRef } from "../../../domain/ids";
import type { RatePolicy } from "../../../domain/rate-policy";
import type { VerifyStart } from "../port";
import type { ScriptedRedis } from "./client";
import { verificationKey, verifiesKey } from "./keys";
import { packed, windowDecision } from "./replies";

/**
 * Verification records on Redis, each under its id's tag with its phone's
 * verifies: one script finds an id, charges its phone and begins its attempt.
 */
export class RedisVerifications {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
  ) {}

  async save(id: VerificationRef, phone: string, ttlMs: number): Promise<void> {
    await this.call(() => this.redis.otpSaveVerification(verificationKey(id), phone, ttlMs));
  }

  async begin(id: VerificationRef, maxAttempts: number, window?: { policy: RatePolicy; member: string }): Promise<VerifyStart> {
    const reply = await this.call(() =>
      this.redis.otpBeginVerify2(
        verificationKey(id),
        verifiesKey(id.tag),
        maxAttempts,
        window?.member ?? "",
        window ? packed(window.policy) : "",
      ),
    );
    const [state, phone] = reply as [VerifyStart["state"], string?];
    // 'limited' carries the windows' five numbers; nothing was recorded.
    if (state === "limited")
      return { state, phone, decision: windowDecision(window!.policy, [...reply.slice(2), 0] as number[]) };
    return phone === undefined ? { state } : { state, phone };
  }

  async claim(id: VerificationRef): Promise<boolean> {
    return (await this.call(() => this.redis.otpClaimVerified(verificationKey(id)))) === 1;
  }

  async refund(id: VerificationRef, member: string): Promise<void> {
    await this.call(() => this.redis.zrem(verifiesKey(id.tag), member));
  }
}
