-- Unproven sends: sends whose code is not verified (yet), counted per block and per range in their
-- pump hash (see lib/pump.lua), by bucket (`u:<j>`, j = floor(ms / bucket ms)), while the window
-- sees them. Their total is kept in `u#`, and the oldest and newest buckets held in `u<` and `u>`:
-- a send reads those three fields, not every bucket of the window, and the buckets that left the
-- window are dropped (their counts taken out of the total) when a count finds them. A verified code
-- gives its own send's place back (verified.lua, in its bucket and in `u#`): one place, never
-- more. Mirrors `unprovenCount` in src/domain/pumping.ts.
--
-- unproven_count(key, windowMs, bucketMs, now): the unproven sends of the buckets that overlap
--   (now - window, now], once the buckets before them are dropped; and whether any are held.
-- unproven_add(key, bucketMs, now, keepMs, held, lives): counts one (after unproven_count, at the
--   same now, `held` as it said); `lives`: the hash is known to live keepMs more (its time to live is
--   not asked). Returns its bucket.
local function unproven_count(key, windowMs, bucketMs, now)
  local held = redis.call('HMGET', key, 'u#', 'u<', 'u>')
  local total, oldest, newest = tonumber(held[1]), tonumber(held[2]), tonumber(held[3])
  if not total then return 0, false end
  local first = math.floor((now - windowMs) / bucketMs)
  if oldest >= first then return total, true end
  if newest < first then
    -- Every bucket held left the window: the newest and those a window before it.
    local stale = {'u#', 'u<', 'u>'}
    for j = newest - math.ceil(windowMs / bucketMs) - 1, newest do stale[#stale + 1] = 'u:' .. j end
    redis.call('HDEL', key, unpack(stale))
    return 0, false
  end
  local stale = {}
  for j = oldest, first - 1 do stale[#stale + 1] = 'u:' .. j end
  for _, value in ipairs(redis.call('HMGET', key, unpack(stale))) do
    total = total - (tonumber(value) or 0)
  end
  redis.call('HDEL', key, unpack(stale))
  redis.call('HSET', key, 'u#', total, 'u<', first)
  return total, true
end

local function unproven_add(key, bucketMs, now, keepMs, held, lives)
  local bucket = math.floor(now / bucketMs)
  if redis.call('HINCRBY', key, 'u:' .. bucket, 1) > 1 then
    redis.call('HINCRBY', key, 'u#', 1)
    return bucket
  end
  -- A new bucket: the newest (the oldest too when none is held), and the hash lives at least as
  -- long as this one counts.
  if held then
    redis.call('HINCRBY', key, 'u#', 1)
    redis.call('HSET', key, 'u>', bucket)
  else
    redis.call('HSET', key, 'u#', 1, 'u<', bucket, 'u>', bucket)
  end
  if not lives and redis.call('PTTL', key) < keepMs then redis.call('PEXPIRE', key, keepMs) end
  return bucket
end
