-- Send budgets: one hash per budget (`otp:budget:{<scope>}`, one slot), holding per window k
-- (1-based) and bucket j (floor(ms / bucket ms)) a count in field `<k>:<j>`, and the window's
-- running total `t:<k>` (the sum of its buckets from `o:<k>` on) with the window and bucket ms
-- it was counted for, `g:<k>`. At most about 64 fields per window, whatever the sends; a send
-- reads the totals, not the buckets. Mirrors `budgetDecision` in src/domain/send-budget.ts.
--
-- budget_check(key, windows, now, proven): the decision on one more send, nothing recorded.
--   windows: limit, open limit, window ms and bucket ms of each window, flat. A send that is not
--   proven (its number has not verified lately) may use only the open limit: the rest of the limit
--   is the reserve returning users keep when an attack has spent the open share.
--   Returns {allowed (1|0), index (0-based), remaining, waitMs, receipt ('' until recorded),
--   used per window...}. Buckets that left a window are taken out of its total (and dropped);
--   buckets are read only to say how long a refused send waits, or to count a window afresh
--   (first use, a changed window, a long gap).
-- budget_record(key, windows, now, decision): counts an allowed send in every window; fills in
--   the decision's receipt (the fields counted, comma-joined) and its use.

-- Window k's total from its buckets; stale ones, and those of windows no longer configured, dropped.
local function budget_recount(key, k, windowCount, firstBucket)
  local fields = redis.call('HGETALL', key)
  local sum, stale = 0, {}
  for i = 1, #fields, 2 do
    local window, bucket = string.match(fields[i], '^(%d+):(%d+)$')
    window, bucket = tonumber(window), tonumber(bucket)
    if window == k and bucket >= firstBucket then
      sum = sum + tonumber(fields[i + 1])
    elseif window == k or (window and (window < 1 or window > windowCount)) then
      stale[#stale + 1] = fields[i]
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return sum
end

local function budget_check(key, windows, now, proven)
  local windowCount = #windows / 4
  local names = {}
  for k = 1, windowCount do
    names[#names + 1] = 't:' .. k
    names[#names + 1] = 'o:' .. k
    names[#names + 1] = 'g:' .. k
  end
  local meta = redis.call('HMGET', key, unpack(names))
  local denied, deniedWait = -1, -1
  local tightest, tightestRemaining = 0, math.huge
  local used = {}
  for k = 1, windowCount do
    local limit = tonumber(windows[4 * k - 3])
    if not proven then limit = tonumber(windows[4 * k - 2]) end
    local windowMs, bucketMs = tonumber(windows[4 * k - 1]), tonumber(windows[4 * k])
    -- A bucket counts while it overlaps (now - window, now].
    local firstBucket, shape = math.floor((now - windowMs) / bucketMs), windowMs .. '/' .. bucketMs
    local sum, oldest = tonumber(meta[3 * k - 2]), tonumber(meta[3 * k - 1])
    if not sum or not oldest or meta[3 * k] ~= shape or firstBucket - oldest > 64 then
      sum = budget_recount(key, k, windowCount, firstBucket)
      redis.call('HSET', key, 't:' .. k, sum, 'o:' .. k, firstBucket, 'g:' .. k, shape)
      -- A budget first looked at (not yet sent on) must not stay for ever.
      if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, windowMs + bucketMs) end
    elseif oldest < firstBucket then
      local gone = {}
      for j = oldest, firstBucket - 1 do gone[#gone + 1] = k .. ':' .. j end
      for _, count in ipairs(redis.call('HMGET', key, unpack(gone))) do sum = sum - (tonumber(count) or 0) end
      sum = math.max(sum, 0)
      redis.call('HDEL', key, unpack(gone))
      redis.call('HSET', key, 't:' .. k, sum, 'o:' .. k, firstBucket)
    end
    used[k] = sum
    if sum >= limit then
      -- A send passes once enough of the oldest buckets have left the window.
      local live = {}
      for j = firstBucket, math.floor(now / bucketMs) do live[#live + 1] = k .. ':' .. j end
      local running, wait = sum, windowMs
      for i, count in ipairs(redis.call('HMGET', key, unpack(live))) do
        running = running - (tonumber(count) or 0)
        if running < limit then
          wait = (firstBucket + i) * bucketMs + windowMs - now
          break
        end
      end
      if wait > deniedWait then denied, deniedWait = k - 1, wait end
    elseif limit - sum - 1 < tightestRemaining then
      tightest, tightestRemaining = k - 1, limit - sum - 1
    end
  end
  if denied >= 0 then return {0, denied, 0, deniedWait, '', unpack(used)} end
  return {1, tightest, tightestRemaining, 0, '', unpack(used)}
end

local function budget_record(key, windows, now, decision)
  local receipt, ttl, opened = {}, 0, false
  for k = 1, #windows / 4 do
    local windowMs, bucketMs = tonumber(windows[4 * k - 1]), tonumber(windows[4 * k])
    local field = k .. ':' .. math.floor(now / bucketMs)
    if redis.call('HINCRBY', key, field, 1) == 1 then opened = true end
    redis.call('HINCRBY', key, 't:' .. k, 1)
    receipt[#receipt + 1] = field
    decision[5 + k] = decision[5 + k] + 1
    ttl = math.max(ttl, windowMs + bucketMs)
  end
  -- The hash outlives its newest bucket's longest window by one bucket, then goes: set when a
  -- bucket opens (a bucket starts before it is opened, so each is kept while a window sees it).
  if opened then redis.call('PEXPIRE', key, ttl) end
  decision[5] = table.concat(receipt, ',')
end
