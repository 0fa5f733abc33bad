import type { PrefixLayout } from "../../../domain/number-ranges";
import { SAFE_ENTRY_MS, type UnprovenBounds, unprovenCount } from "../../../domain/pumping";
import type { BoundedPrefix, GuardBlock, SafeEntry } from "../port";
import type { ScriptedRedis } from "./client";
import { BLOCKS_KEY, BOUNDED_KEY, prefixOfPumpKey, pumpKey, pumpKeys } from "./keys";

/** The most entries the operators' list of bounded blocks and ranges shows. */
const BOUNDED_SHOWN = 100;
/** How often one gateway notes the same block in that list while it stays at its bound. */
const NOTE_EVERY_MS = 5_000;

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
      range: this.#isRange(key),
    }));
  }

  /**
   * A block's or range's hash reached a bound on unproven sends: noted in the operators' list
   * (on its own slot), at most once every few seconds per gateway, as refusals repeat. A failed
   * write must not turn the decision made into a store failure.
   */
  noteBounded(key: string, windowMs: number): void {
    const now = Date.now();
    if ((this.#noted.get(key) ?? 0) > now) return;
    if (this.#noted.size >= 10_000) this.#noted.clear();
    this.#noted.set(key, now + NOTE_EVERY_MS);
    this.call(() => this.redis.zadd(BOUNDED_KEY, now + windowMs, key))
      .then(() => this.call(() => this.redis.pexpire(BOUNDED_KEY, windowMs)))
      .catch(() => undefined);
  }

  readonly #noted = new Map<string, number>();

  async bounded(bounds: UnprovenBounds): Promise<BoundedPrefix[]> {
    const now = Date.now();
    await this.call(() => this.redis.zremrangebyscore(BOUNDED_KEY, "-inf", now));
    const keys = await this.call(() => this.redis.zrangebyscore(BOUNDED_KEY, now, "+inf"));
    const hashes = await Promise.all(keys.map((key) => this.call(() => this.redis.hgetall(key))));
    const found = keys.map((key, i) => {
      const counts = new Map<number, number>();
      for (const [field, value] of Object.entries(hashes[i] ?? {})) {
        if (field.startsWith("u:")) counts.set(Number(field.slice(2)), Number(value));
      }
      const range = this.#isRange(key);
      return { prefix: prefixOfPumpKey(key), range, unproven: unprovenCount(counts, now, bounds) };
    });
    return found
      .filter((b) => b.unproven >= (b.range ? bounds.range : bounds.block))
      .sort((a, b) => b.unproven - a.unproven)
      .slice(0, BOUNDED_SHOWN);
  }

  /** Whether a pump hash is a range's rather than a block's. */
  #isRange(key: string): boolean {
    return this.layout.rangeDropDigits > this.layout.dropDigits && key === pumpKey(prefixOfPumpKey(key));
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
