-- Unproven sends: sends whose code is not verified (yet), counted per block and per range in their
-- pump hash (see lib/pump.lua), by bucket (`u:<j>`, j = floor(ms / bucket ms)), while the window
-- sees them. A verified code gives its own send's place back (verified.lua): one place, never
-- more. Mirrors `unprovenCount` in src/domain/pumping.ts.
--
-- unproven_count(key, windowMs, bucketMs, now): the unproven sends of the buckets that overlap
--   (now - window, now].
-- unproven_add(key, windowMs, bucketMs, now, keepMs): counts one; drops the buckets that left the
--   window when a bucket opens; returns its bucket.
local function unproven_fields(windowMs, bucketMs, now)
  local names = {}
  for j = math.floor((now - windowMs) / bucketMs), math.floor(now / bucketMs) do
    names[#names + 1] = 'u:' .. j
  end
  return names
end

local function unproven_count(key, windowMs, bucketMs, now)
  local sum = 0
  for _, value in ipairs(redis.call('HMGET', key, unpack(unproven_fields(windowMs, bucketMs, now)))) do
    sum = sum + (tonumber(value) or 0)
  end
  return sum
end

local function unproven_add(key, windowMs, bucketMs, now, keepMs)
  local bucket = math.floor(now / bucketMs)
  if redis.call('HINCRBY', key, 'u:' .. bucket, 1) == 1 then
    -- A new bucket: the ones the window no longer sees go (as many as it holds), and the hash lives
    -- at least as long as this one counts.
    local first, stale = math.floor((now - windowMs) / bucketMs), {}
    for j = first - (bucket - first) - 1, first - 1 do stale[#stale + 1] = 'u:' .. j end
    redis.call('HDEL', key, unpack(stale))
    if redis.call('PTTL', key) < keepMs then redis.call('PEXPIRE', key, keepMs) end
  end
  return bucket
end
