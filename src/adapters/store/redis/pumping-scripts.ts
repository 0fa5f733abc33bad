import { PUMP_TOTALS_FN } from "./pump-totals-scripts";

/**
 * The pumping guard in Redis: one hash per number prefix and one per wider range
 * (`otp:pump:{<range>}<rest of the prefix>`, `otp:pump:{<range>}`: one hash tag,
 * the range's, which the phone's own keys carry too; `otp:pump:{<prefix>}` with
 * no ranges), with sends and verified sends counted per bucket (`s:`, `v:`,
 * folded into `S:`, `V:` as they age), the block (`until`, `strikes`) and
 * safe-list entries (`safe`, `safe:<number>`), and for a busy prefix running
 * totals (src/adapters/store/pump-totals-scripts.ts). At most about 180 fields.
 */

/**
 * `pump_check(key, number, a, now, count)`, a Lua function that ADMIT_LUA calls
 * with the ms of its own Redis TIME: mirrors `judge` in src/domain/pumping.ts
 * (folding included) and sets the block; a clear prefix has the send counted
 * unless `count` is false (a retried send, counted by its first attempt).
 * A check reads the totals and the block; it reads buckets only as they mature,
 * fold or leave the window (a few at a time), or to count a hash afresh (first
 * use, a changed shape, a long gap), or when it blocks.
 * a: window ms, bucket ms, maturity ms, min sends, min conversion (0–1),
 * block ms, max block ms, strike memory ms, ms the hash must live at least.
 * Returns {state (0 clear, 1 blocked, 2 blocked now), remaining ms, strikes,
 * bucket the send was counted in (clear only; -1 if not counted, -2 if safe-listed),
 * and when blocked now the counts it was judged on (field, count, …) for pump_forget}.
 */
export const PUMP_FN = `${PUMP_TOTALS_FN}
local function pump_check(key, number, a, now, count)
  local meta = redis.call('HMGET', key, 'safe', 'safe:' .. number, 'until', 'strikes', 'J', 'C', 'm', 'f', 'o', 'g')
  if meta[1] or meta[2] then return {0, 0, 0, -2} end
  local untilMs, strikes = tonumber(meta[3] or '0'), tonumber(meta[4] or '0')
  if untilMs > now then return {1, untilMs - now, strikes} end
  local w, b, mt = tonumber(a[1]), tonumber(a[2]), tonumber(a[3])
  local c = b * 60
  local firstFine, firstCoarse = math.floor((now - c) / b), math.floor((now - w) / c)
  -- Judged: sends whose codes have all expired (and everything folded); verifies wherever they landed.
  local lastJudged = math.floor((now - mt) / b) - 1
  local shape = a[1] .. '/' .. a[2] .. '/' .. a[3]
  local t = {tonumber(meta[5]), tonumber(meta[6]), tonumber(meta[7]), tonumber(meta[8]), tonumber(meta[9])}
  -- Totals are kept from PUMP_TOTALS_FROM count fields on: a small hash is cheaper read whole
  -- than kept up (most prefixes see a send or two); a busy one is read by its totals only.
  local J, C, m, f, o, kept, empty
  local tracked = meta[10] == shape and t[1] and t[2] and t[3] and t[4] and t[5]
    and lastJudged - t[3] <= 64 and firstFine - t[4] <= 64 and firstCoarse - t[5] <= 26
  if tracked then
    J, C, m, f, o = pump_advance(key, b, c, t, firstFine, firstCoarse, lastJudged)
  else
    J, C, kept, empty = pump_recount(key, b, c, firstFine, firstCoarse, lastJudged)
    m, f, o = lastJudged, firstFine, firstCoarse
    if kept >= PUMP_TOTALS_FROM then
      tracked = true
    elseif meta[10] then
      redis.call('HDEL', key, 'J', 'C', 'm', 'f', 'o', 'g')
    end
  end
  if J >= tonumber(a[4]) and C < J * tonumber(a[5]) then
    strikes = strikes + 1
    local dur = math.min(tonumber(a[6]) * 2 ^ (strikes - 1), tonumber(a[7]))
    -- The counts that judged it go (and the totals): after the block the prefix must earn a new one.
    local raw, counts, held = redis.call('HGETALL', key), {'J', 'C', 'm', 'f', 'o', 'g'}, {}
    for i = 1, #raw, 2 do
      if string.match(raw[i], '^[svSV]:%d+$') then
        counts[#counts + 1] = raw[i]
        held[#held + 1] = raw[i]
        held[#held + 1] = tonumber(raw[i + 1])
      end
    end
    redis.call('HDEL', key, unpack(counts))
    redis.call('HSET', key, 'until', now + dur, 'strikes', strikes)
    -- Remembered past the block, so that a repeat is blocked longer.
    redis.call('PEXPIRE', key, dur + tonumber(a[8]))
    return {2, dur, strikes, -1, held}
  end
  if tracked and (J ~= t[1] or C ~= t[2] or m ~= t[3] or f ~= t[4] or o ~= t[5] or meta[10] ~= shape) then
    redis.call('HSET', key, 'J', J, 'C', C, 'm', m, 'f', f, 'o', o, 'g', shape)
  end
  if not count then return {0, 0, strikes, -1} end
  -- Clear: the send is counted now (taken back if it does not go out). A new bucket makes the hash
  -- live at least a[9] more: it then outlives every bucket's start by that.
  local bucket = math.floor(now / b)
  if redis.call('HINCRBY', key, 's:' .. bucket, 1) == 1 and (empty or redis.call('PTTL', key) < tonumber(a[9])) then
    redis.call('PEXPIRE', key, a[9])
  end
  return {0, 0, strikes, bucket}
end

-- A block just blocked: its range forgets the counts that judged it (the block answers for them
-- now), so one pumped block does not close its 99 neighbours. held: field, count, ... as the block
-- had them, folded as far as the block's check went. The range may be folded more or less: a
-- fine count is taken from its fine bucket, then its coarse one; a coarse count from the coarse
-- bucket, then its 60 fine ones.
local function pump_forget(key, held)
  local m = tonumber(redis.call('HGET', key, 'm') or 'x')
  local function take(field, want)
    local have = tonumber(redis.call('HGET', key, field) or '0')
    local n = math.min(want, have)
    if n <= 0 then return 0 end
    redis.call('HINCRBY', key, field, 0 - n)
    local total, d = pump_total_delta(field, n, m)
    if total then redis.call('HINCRBY', key, total, 0 - d) end
    return n
  end
  for i = 1, #held, 2 do
    local field, left = held[i], held[i + 1]
    local kind, j = string.match(field, '^([svSV]):(%d+)$')
    if kind and left > 0 then
      left = left - take(field, left)
      if kind == 's' or kind == 'v' then
        if left > 0 then take(string.upper(kind) .. ':' .. math.floor(tonumber(j) / 60), left) end
      else
        local fine = string.lower(kind) .. ':'
        for f = tonumber(j) * 60, tonumber(j) * 60 + 59 do
          if left <= 0 then break end
          left = left - take(fine .. f, left)
        end
      end
    end
  end
end
`;

/**
 * KEYS: the prefix's hash, then its range's if it has one. ARGV: `s` or `v`,
 * bucket ms, ms the hash must live at least. Counts one in each.
 */
export const PUMP_RECORD_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, key in ipairs(KEYS) do
  local field = ARGV[1] .. ':' .. math.floor(now / tonumber(ARGV[2]))
  if redis.call('HINCRBY', key, field, 1) == 1 and redis.call('PTTL', key) < tonumber(ARGV[3]) then
    redis.call('PEXPIRE', key, ARGV[3])
  end
  -- A verify is in C at once; a send joins J when it matures (the next check adds it).
  if ARGV[1] == 'v' and redis.call('HEXISTS', key, 'C') == 1 then redis.call('HINCRBY', key, 'C', 1) end
end
return 1
`;

/** KEYS[1]: the prefix's hash. Ends its block (strikes stay, so a repeat escalates); 1 if it was blocked. */
export const PUMP_LIFT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
redis.call('HDEL', KEYS[1], 'until')
if untilMs > now then return 1 end
return 0
`;

/** KEYS[1]: the prefix's hash. ARGV: field (`safe` or `safe:<number>`), 1 to add or 0 to remove, ms to keep it. */
export const PUMP_SAFE_LUA = `
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], 1)
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
`;
