import type { VerificationRef } from "../../../domain/ids";
import type { RatePolicy } from "../../../domain/rate-policy";
import {
  type CancelResult,
  type DeliveryStatus,
  deliveryRank,
  deliveryStatusOf,
  type VerificationState,
} from "../../../domain/verification-status";
import type { SentCode, VerifyStart } from "../port";
import type { ScriptedRedis } from "./client";
import { verificationKey, verifiesKey } from "./keys";
import { BEGIN_VERIFY_REPLY, packed, windowDecision } from "./replies";

/**
 * Verification records on Redis, each under its id's tag with its phone's
 * verifies: one script finds an id, charges its phone and begins its attempt.
 * Times in a record are the gateway's clock (Date.now()), which set them.
 */
export class RedisVerifications {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
  ) {}

  /** `unproven`: the bucket its send is unproven in, given back when the code is verified. */
  async save(phone: string, sent: SentCode, unproven?: number): Promise<void> {
    await this.call(() =>
      this.redis.otpSaveVerification(
        verificationKey(sent.id),
        phone,
        sent.ttlMs + sent.keepMs,
        unproven === undefined ? "" : String(unproven),
        sent.sentAtMs,
        sent.expiresAtMs,
        sent.attempts,
        sent.caller,
      ),
    );
  }

  async read(id: VerificationRef): Promise<VerificationState | undefined> {
    const [phone, spent, ok, canceled, sentAt, expiresAt, attempts, caller, delivery, deliveryAt] =
      await this.call(() =>
        this.redis.hmget(verificationKey(id), "p", "n", "ok", "x", "s", "e", "a", "c", "d", "du"),
      );
    // A record of an earlier release has no times: it is read as lasting as long as it is kept.
    if (!phone || !expiresAt) return undefined;
    return {
      phone,
      sentAtMs: Number(sentAt),
      expiresAtMs: Number(expiresAt),
      attemptsAllowed: Number(attempts),
      attemptsSpent: Number(spent ?? 0),
      verified: ok === "1",
      canceled: canceled === "1",
      caller: caller ?? "",
      ...(delivery && deliveryAt
        ? { delivery: { status: deliveryStatusOf(delivery), atMs: Number(deliveryAt) } }
        : {}),
    };
  }

  async recordDelivery(id: VerificationRef, status: DeliveryStatus, atMs: number): Promise<void> {
    await this.call(() => this.redis.otpDelivery(verificationKey(id), status, deliveryRank(status), atMs));
  }

  async cancel(id: VerificationRef, caller: string, maxAttempts: number): Promise<CancelResult> {
    const [kind, status] = await this.call(() =>
      this.redis.otpCancelVerification(verificationKey(id), caller, Date.now(), maxAttempts),
    );
    if (kind === "canceled" || kind === "unknown") return { kind };
    return { kind: "ended", status: status as Extract<CancelResult, { kind: "ended" }>["status"] };
  }

  async begin(
    id: VerificationRef,
    maxAttempts: number,
    window?: { policy: RatePolicy; member: string },
    caller = "",
  ): Promise<VerifyStart> {
    const reply = await this.call(() =>
      this.redis.otpBeginVerify(
        verificationKey(id),
        verifiesKey(id.tag),
        maxAttempts,
        window?.member ?? "",
        window ? packed(window.policy) : "",
        Date.now(),
        caller,
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
