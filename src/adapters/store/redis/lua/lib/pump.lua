-- The pumping guard: one hash per number block and one per wider range (`otp:pump:{<range>}<rest
-- of the block>`, `otp:pump:{<range>}`: one hash tag, the range's, which the phone's own keys
-- carry too; `otp:pump:{<block>}` with no ranges). Its fields:
--   s:<j>, v:<j>   sends and verified sends in fine bucket j (bucket ms each)
--   S:<j>, V:<j>   the same folded into coarse bucket j (60 fine buckets each)
--   until          when its block ends (ms); strikes: its blocks so far
--   safe           the whole block is safe-listed; safe:<number>: one number is
--   J, C, m, f, o, g   running totals of a busy hash (see lib/pump-totals.lua)
-- At most about 180 fields.
--
-- pump_check(key, number, policy, now, count): mirrors `judge` in src/domain/pumping.ts (folding
--   included) and sets the block; a clear prefix has the send counted unless `count` is false
--   (a retried send, counted by its first attempt). A check reads the totals and the block, and
--   buckets only as they mature, fold or leave the window (a few at a time), or to count a hash
--   afresh (first use, a changed shape, a long gap), or when it blocks.
--   policy: window ms, bucket ms, maturity ms, min sends, min conversion (0-1), block ms,
--   max block ms, strike memory ms, ms the hash must live at least.
--   Returns {state (0 clear, 1 blocked, 2 blocked now), remaining ms, strikes, the bucket the
--   send was counted in (clear only; -1 not counted, -2 safe-listed), and when blocked now the
--   counts it was judged on (field, count, ...) for pump_forget}.
-- pump_forget(key, held): a range forgets the counts that judged one of its blocks.
local function pump_check(key, number, policy, now, count)
  local meta = redis.call('HMGET', key, 'safe', 'safe:' .. number, 'until', 'strikes',
    'J', 'C', 'm', 'f', 'o', 'g')
  if meta[1] or meta[2] then return {0, 0, 0, -2} end
  local blockedUntil, strikes = tonumber(meta[3] or '0'), tonumber(meta[4] or '0')
  if blockedUntil > now then return {1, blockedUntil - now, strikes} end
  local windowMs, bucketMs, maturityMs = tonumber(policy[1]), tonumber(policy[2]), tonumber(policy[3])
  local minSends, minConversion = tonumber(policy[4]), tonumber(policy[5])
  local blockMs, maxBlockMs = tonumber(policy[6]), tonumber(policy[7])
  local strikeMemoryMs, keepMs = policy[8], policy[9]
  local coarseMs = bucketMs * 60
  local firstFine = math.floor((now - coarseMs) / bucketMs)
  local firstCoarse = math.floor((now - windowMs) / coarseMs)
  -- Judged: sends whose codes have all expired (and everything folded); verifies wherever they landed.
  local lastJudged = math.floor((now - maturityMs) / bucketMs) - 1
  local shape = policy[1] .. '/' .. policy[2] .. '/' .. policy[3]
  local totals = {
    tonumber(meta[5]), tonumber(meta[6]), tonumber(meta[7]), tonumber(meta[8]), tonumber(meta[9]),
  }
  -- Totals are kept from PUMP_TOTALS_FROM count fields on: a small hash is cheaper read whole
  -- than kept up (most prefixes see a send or two); a busy one is read by its totals only.
  local judged, converted, lastMatured, oldestFine, oldestCoarse, kept, empty
  local tracked = meta[10] == shape and totals[1] and totals[2] and totals[3] and totals[4] and totals[5]
    and lastJudged - totals[3] <= 64 and firstFine - totals[4] <= 64 and firstCoarse - totals[5] <= 26
  if tracked then
    judged, converted, lastMatured, oldestFine, oldestCoarse =
      pump_advance(key, bucketMs, coarseMs, totals, firstFine, firstCoarse, lastJudged)
  else
    judged, converted, kept, empty = pump_recount(key, bucketMs, coarseMs, firstFine, firstCoarse, lastJudged)
    lastMatured, oldestFine, oldestCoarse = lastJudged, firstFine, firstCoarse
    if kept >= PUMP_TOTALS_FROM then
      tracked = true
    elseif meta[10] then
      redis.call('HDEL', key, 'J', 'C', 'm', 'f', 'o', 'g')
    end
  end
  if judged >= minSends and converted < judged * minConversion then
    strikes = strikes + 1
    local duration = math.min(blockMs * 2 ^ (strikes - 1), maxBlockMs)
    -- The counts that judged it go (and the totals): after the block the prefix must earn a new one.
    local fields, drop, held = redis.call('HGETALL', key), {'J', 'C', 'm', 'f', 'o', 'g'}, {}
    for i = 1, #fields, 2 do
      if string.match(fields[i], '^[svSV]:%d+$') then
        drop[#drop + 1] = fields[i]
        held[#held + 1] = fields[i]
        held[#held + 1] = tonumber(fields[i + 1])
      end
    end
    redis.call('HDEL', key, unpack(drop))
    redis.call('HSET', key, 'until', now + duration, 'strikes', strikes)
    -- Remembered past the block, so that a repeat is blocked longer.
    redis.call('PEXPIRE', key, duration + tonumber(strikeMemoryMs))
    return {2, duration, strikes, -1, held}
  end
  local moved = judged ~= totals[1] or converted ~= totals[2] or lastMatured ~= totals[3]
    or oldestFine ~= totals[4] or oldestCoarse ~= totals[5] or meta[10] ~= shape
  if tracked and moved then
    redis.call('HSET', key, 'J', judged, 'C', converted, 'm', lastMatured,
      'f', oldestFine, 'o', oldestCoarse, 'g', shape)
  end
  if not count then return {0, 0, strikes, -1} end
  -- Clear: the send is counted now (taken back if it does not go out). A new bucket makes the hash
  -- live at least keepMs more: it then outlives every bucket's start by that.
  local bucket = math.floor(now / bucketMs)
  local opened = redis.call('HINCRBY', key, 's:' .. bucket, 1) == 1
  if opened and (empty or redis.call('PTTL', key) < tonumber(keepMs)) then
    redis.call('PEXPIRE', key, keepMs)
  end
  return {0, 0, strikes, bucket}
end

-- A block just blocked: its range forgets the counts that judged it (the block answers for them
-- now), so one pumped block does not close its 99 neighbours. held: field, count, ... as the block
-- had them, folded as far as the block's check went. The range may be folded more or less: a
-- fine count is taken from its fine bucket, then its coarse one; a coarse count from the coarse
-- bucket, then its 60 fine ones.
local function pump_forget(key, held)
  local lastMatured = tonumber(redis.call('HGET', key, 'm') or 'x')
  local function take(field, want)
    local have = tonumber(redis.call('HGET', key, field) or '0')
    local taken = math.min(want, have)
    if taken <= 0 then return 0 end
    redis.call('HINCRBY', key, field, 0 - taken)
    local total, delta = pump_total_delta(field, taken, lastMatured)
    if total then redis.call('HINCRBY', key, total, 0 - delta) end
    return taken
  end
  for i = 1, #held, 2 do
    local field, left = held[i], held[i + 1]
    local kind, bucket = string.match(field, '^([svSV]):(%d+)$')
    if kind and left > 0 then
      left = left - take(field, left)
      if kind == 's' or kind == 'v' then
        if left > 0 then take(string.upper(kind) .. ':' .. math.floor(tonumber(bucket) / 60), left) end
      else
        local fine = string.lower(kind) .. ':'
        for j = tonumber(bucket) * 60, tonumber(bucket) * 60 + 59 do
          if left <= 0 then break end
          left = left - take(fine .. j, left)
        end
      end
    end
  end
end
