import type { VerificationRef } from "../../../domain/ids";
import type { RatePolicy } from "../../../domain/rate-policy";
import type { VerifyStart } from "../port";
import type { ScriptedRedis } from "./client";
import { verificationKey, verifiesKey } from "./keys";
import { BEGIN_VERIFY_REPLY, packed, windowDecision } from "./replies";

/**
 * Verification records on Redis, each under its id's tag with its phone's
 * verifies: one script finds an id, charges its phone and begins its attempt.
 */
export class RedisVerifications {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
  ) {}

  /** `unproven`: the bucket its send is unproven in, given back when the code is verified. */
  async save(id: VerificationRef, phone: string, ttlMs: number, unproven?: number): Promise<void> {
    await this.call(() =>
      this.redis.otpSaveVerification(
        verificationKey(id),
        phone,
        ttlMs,
        unproven === undefined ? "" : String(unproven),
      ),
    );
  }

  async begin(
    id: VerificationRef,
    maxAttempts: number,
    window?: { policy: RatePolicy; member: string },
  ): Promise<VerifyStart> {
    const reply = await this.call(() =>
      this.redis.otpBeginVerify(
        verificationKey(id),
        verifiesKey(id.tag),
        maxAttempts,
        window?.member ?? "",
        window ? packed(window.policy) : "",
      ),
    );
    const state = reply[BEGIN_VERIFY_REPLY.state] as VerifyStart["state"];
    const phone = String(reply[BEGIN_VERIFY_REPLY.phone]);
    if (state === "unknown") return { state };
    const bucket = reply[BEGIN_VERIFY_REPLY.unproven];
    const unproven = bucket === undefined || bucket === "" ? {} : { unproven: Number(bucket) };
    if (state !== "limited") return { state, phone, ...unproven };
    // 'limited' carries the windows' five numbers (only a verify with a window can be); nothing was recorded.
    if (!window) throw new Error("begin-verify.lua refused a verify that charged no window");
    return {
      state,
      phone,
      ...unproven,
      decision: windowDecision(window.policy, reply, BEGIN_VERIFY_REPLY.allowed),
    };
  }

  async claim(id: VerificationRef): Promise<boolean> {
    return (await this.call(() => this.redis.otpClaimVerified(verificationKey(id)))) === 1;
  }

  async refund(id: VerificationRef, member: string): Promise<void> {
    await this.call(() => this.redis.zrem(verifiesKey(id.tag), member));
  }
}
