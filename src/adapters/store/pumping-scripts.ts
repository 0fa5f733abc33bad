/**
 * The pumping guard in Redis: one hash per number prefix and one per wider range
 * (`otp:pump:{<range>}<rest of the prefix>`, `otp:pump:{<range>}`: one hash tag,
 * the range's, which the phone's own keys carry too; `otp:pump:{<prefix>}` with
 * no ranges), with sends and verified sends counted per bucket (`s:`, `v:`,
 * folded into `S:`, `V:` as they age), the block (`until`, `strikes`) and
 * safe-list entries (`safe`, `safe:<number>`). At most about 170 fields.
 */

/**
 * `pump_check(key, number, a, now, count)`, a Lua function that ADMIT_LUA calls
 * with the ms of its own Redis TIME: mirrors `judge` in src/lib/pumping.ts
 * (folding included) and sets the block; a clear prefix has the send counted
 * unless `count` is false (a retried send, counted by its first attempt).
 * key: the prefix's hash: recent counts `s:<bucket>` and `v:<bucket>`, older
 * ones folded into `S:<coarse>` and `V:<coarse>` (coarse = 60 buckets), the
 * block and the safe list; read whole, once.
 * a: window ms, bucket ms, maturity ms, min sends, min conversion (0–1),
 * block ms, max block ms, strike memory ms, ms the hash must live at least.
 * Returns {state (0 clear, 1 blocked, 2 blocked now), remaining ms, strikes,
 * bucket the send was counted in (clear only; -1 if not counted, -2 if safe-listed),
 * and when blocked now the counts it was judged on (field, count, …) for pump_forget}.
 */
export const PUMP_FN = `
local function pump_check(key, number, a, now, count)
  local raw = redis.call('HGETALL', key)
  local untilMs, strikes, safeField = 0, 0, 'safe:' .. number
  local w, b, m = tonumber(a[1]), tonumber(a[2]), tonumber(a[3])
  local c = b * 60
  local firstFine, firstCoarse = math.floor((now - c) / b), math.floor((now - w) / c)
  -- Judged: sends whose codes have all expired (and everything folded); verifies wherever they landed.
  local lastJudged = math.floor((now - m) / b) - 1
  local judged, converted, counts, gone, folds, held = 0, 0, {}, {}, {}, {}
  for i = 1, #raw, 2 do
    local field = raw[i]
    local kind, j = string.match(field, '^([svSV]):(%d+)$')
    if not kind then
      if field == 'until' then untilMs = tonumber(raw[i + 1])
      elseif field == 'strikes' then strikes = tonumber(raw[i + 1])
      elseif field == 'safe' or field == safeField then return {0, 0, 0, -2} end
    else
      j = tonumber(j)
      local n = tonumber(raw[i + 1])
      counts[#counts + 1] = field
      held[#held + 1] = field
      held[#held + 1] = n
      if kind == 's' or kind == 'v' then
        if j < firstFine then
          -- Older than one coarse bucket: folded into its coarse bucket (or dropped past the window).
          gone[#gone + 1] = field
          local coarse = math.floor(j * b / c)
          if coarse >= firstCoarse then
            local into = string.upper(kind) .. ':' .. coarse
            folds[into] = (folds[into] or 0) + n
            if kind == 's' then judged = judged + n else converted = converted + n end
          end
        elseif kind == 's' then
          if j <= lastJudged then judged = judged + n end
        else
          converted = converted + n
        end
      elseif j < firstCoarse then
        gone[#gone + 1] = field
      elseif kind == 'S' then
        judged = judged + n
      else
        converted = converted + n
      end
    end
  end
  if untilMs > now then return {1, untilMs - now, strikes} end
  if judged >= tonumber(a[4]) and converted < judged * tonumber(a[5]) then
    strikes = strikes + 1
    local dur = math.min(tonumber(a[6]) * 2 ^ (strikes - 1), tonumber(a[7]))
    -- The counts that judged it go: after the block the prefix must earn a new one.
    if #counts > 0 then redis.call('HDEL', key, unpack(counts)) end
    redis.call('HSET', key, 'until', now + dur, 'strikes', strikes)
    -- Remembered past the block, so that a repeat is blocked longer.
    redis.call('PEXPIRE', key, dur + tonumber(a[8]))
    return {2, dur, strikes, -1, held}
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  for field, n in pairs(folds) do redis.call('HINCRBY', key, field, n) end
  if not count then return {0, 0, strikes, -1} end
  -- Clear: the send is counted now (taken back if it does not go out).
  local bucket = math.floor(now / b)
  -- A new bucket makes the hash live at least a[9] more: it then outlives every bucket's start by
  -- that (a hash that was empty has no expiry to keep).
  if redis.call('HINCRBY', key, 's:' .. bucket, 1) == 1 and (#raw == 0 or redis.call('PTTL', key) < tonumber(a[9])) then
    redis.call('PEXPIRE', key, a[9])
  end
  return {0, 0, strikes, bucket}
end

-- A block just blocked: its range forgets the counts that judged it (the block answers for them
-- now), so one pumped block does not close its 99 neighbours. held: field, count, ... as the block
-- had them; the range may have folded a fine bucket since (it is checked at least as often).
local function pump_forget(key, held)
  for i = 1, #held, 2 do
    local field, n = held[i], held[i + 1]
    local have = tonumber(redis.call('HGET', key, field) or '0')
    local kind, j = string.match(field, '^([sv]):(%d+)$')
    if have == 0 and kind then
      field = string.upper(kind) .. ':' .. math.floor(tonumber(j) / 60)
      have = tonumber(redis.call('HGET', key, field) or '0')
    end
    if have > 0 then redis.call('HINCRBY', key, field, -math.min(n, have)) end
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
