import type { PrefixLayout } from "../../../domain/number-ranges";
import { SAFE_ENTRY_MS } from "../../../domain/pumping";
import type { ScriptedRedis } from "./client";
import { BLOCKS_KEY, prefixOfPumpKey, pumpKey, pumpKeys } from "./keys";

/** The operators' side of the pumping guard on Redis: the blocks now, lifting one, the safe list. */
export class RedisPumpAdmin {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly call: <T>(command: () => Promise<T>) => Promise<T>,
    private readonly layout: PrefixLayout,
  ) {}

  async blocks() {
    const now = Date.now();
    await this.call(() => this.redis.zremrangebyscore(BLOCKS_KEY, "-inf", now));
    const flat = await this.call(() => this.redis.zrangebyscore(BLOCKS_KEY, now, "+inf", "WITHSCORES"));
    const entries = [];
    for (let i = 0; i < flat.length; i += 2) {
      // A member is the blocked hash's key name (a bare prefix from before ranges).
      const key = flat[i]!.startsWith("otp:pump:") ? flat[i]! : pumpKey(flat[i]!);
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

  async lift(prefix: string, range = false): Promise<boolean> {
    const key = range ? pumpKey(prefix) : pumpKeys(prefix, this.layout)[0];
    const lifted = (await this.call(() => this.redis.otpPumpLift(key))) === 1;
    await this.call(() => this.redis.zrem(BLOCKS_KEY, key, prefix));
    return lifted;
  }

  async safe(prefix: string, number: string | undefined, add: boolean): Promise<void> {
    const field = number ? `safe:${number}` : "safe";
    const [key] = pumpKeys(prefix, this.layout);
    await this.call(() => this.redis.otpPumpSafe(key, field, add ? 1 : 0, SAFE_ENTRY_MS));
  }
}
