import type { PrefixLayout } from "../../../domain/number-ranges";
import { SAFE_ENTRY_MS } from "../../../domain/pumping";
import type { GuardBlock, SafeEntry } from "../port";
import type { ScriptedRedis } from "./client";
import { BLOCKS_KEY, prefixOfPumpKey, pumpKey, pumpKeys } from "./keys";

/** The operators' side of the pumping guard on Redis: the blocks now, lifting one, the safe list. */
export class RedisPumpAdmin {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
    private readonly layout: PrefixLayout,
  ) {}

  async blocks(): Promise<GuardBlock[]> {
    const now = Date.now();
    await this.call(() => this.redis.zremrangebyscore(BLOCKS_KEY, "-inf", now));
    const flat = await this.call(() => this.redis.zrangebyscore(BLOCKS_KEY, now, "+inf", "WITHSCORES"));
    const entries = [];
    for (const [i, member] of flat.entries()) {
      // Members and their scores alternate.
      if (i % 2 === 1) continue;
      // A member is the blocked hash's key name (a bare prefix from before ranges).
      const key = member.startsWith("otp:pump:") ? member : pumpKey(member);
      entries.push({ key, prefix: prefixOfPumpKey(key), remainingMs: Number(flat[i + 1]) - now });
    }
    const strikes = await Promise.all(entries.map((e) => this.call(() => this.redis.hget(e.key, "strikes"))));
    return entries.map(({ key, prefix, remainingMs }, i) => ({
      prefix,
      remainingMs,
      strikes: Number(strikes[i] ?? 0),
      range: this.layout.rangeDropDigits > this.layout.dropDigits && key === pumpKey(prefix),
    }));
  }

  liftBlock(prefix: string): Promise<boolean> {
    return this.#lift(pumpKeys(prefix, this.layout)[0], prefix);
  }

  liftRange(prefix: string): Promise<boolean> {
    return this.#lift(pumpKey(prefix), prefix);
  }

  async #lift(key: string, prefix: string): Promise<boolean> {
    const lifted = (await this.call(() => this.redis.otpPumpLift(key))) === 1;
    await this.call(() => this.redis.zrem(BLOCKS_KEY, key, prefix));
    return lifted;
  }

  async addSafe(entry: SafeEntry): Promise<void> {
    const [key] = pumpKeys(entry.prefix, this.layout);
    await this.call(() => this.redis.otpSafeListAdd(key, safeField(entry), SAFE_ENTRY_MS));
  }

  async removeSafe(entry: SafeEntry): Promise<void> {
    const [key] = pumpKeys(entry.prefix, this.layout);
    await this.call(() => this.redis.hdel(key, safeField(entry)));
  }
}

/** A safe-list entry's field in its block's hash: the whole block, or one number. */
const safeField = (entry: SafeEntry) => ("number" in entry ? `safe:${entry.number}` : "safe");
