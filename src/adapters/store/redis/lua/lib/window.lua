-- Sliding-window logs: a sorted set per subject (a phone's sends, its verifies), each event a
-- member scored by its time in ms. Mirrors `decideRaw` in src/domain/rate-window.ts line by line.
--
-- window_decide(key, member, windows): the decision on one more event, nothing recorded.
--   windows: limit and window ms of each window, flat ({limit1, ms1, limit2, ms2, ...}).
--   Returns now (ms), the longest window (ms), whether `member` was recorded before (a retry
--   with the same Idempotency-Key: it passes and is not counted twice), the decision
--   {allowed (1|0), index (0-based, the deciding window), remaining, waitMs, nextMs}, and when
--   `member` was recorded (ms; 0 when it was not).
-- window_record(key, member, now, longest): records the event.
local function window_decide(key, member, windows)
  local now = now_ms()
  local count = #windows / 2
  local longest = 0
  for k = 1, count do longest = math.max(longest, tonumber(windows[2 * k])) end
  -- What stays is at most the largest limit, cheap to read whole; what no window can see goes.
  local raw = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local times, stale, counted, countedAt = {}, false, false, 0
  for i = 2, #raw, 2 do
    local at = tonumber(raw[i])
    if at <= now - longest then
      stale = true
    else
      times[#times + 1] = at
      if raw[i - 1] == member then counted, countedAt = true, at end
    end
  end
  if stale then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest) end
  local total = #times
  local denied, deniedWait = -1, -1
  local tightest, tightestRemaining, tightestReset = -1, math.huge, 0
  local nextMs = 0
  for k = 1, count do
    local limit, windowMs = tonumber(windows[2 * k - 1]), tonumber(windows[2 * k])
    local inWindow, j = 0, total
    while j >= 1 and times[j] > now - windowMs do
      inWindow = inWindow + 1
      j = j - 1
    end
    if inWindow >= limit then
      -- The slot frees when the event `limit` places from the newest leaves the window.
      local wait = times[total - limit + 1] + windowMs - now
      if wait > deniedWait then denied, deniedWait = k - 1, wait end
    else
      local remaining = limit - inWindow - 1
      local oldest = now
      if inWindow > 0 then oldest = times[total - inWindow + 1] end
      if remaining < tightestRemaining then
        tightest, tightestRemaining, tightestReset = k - 1, remaining, oldest + windowMs - now
      end
      -- Recording this event fills the window until its limit-th newest event leaves.
      if remaining == 0 then
        local base = now
        if limit > 1 then base = times[total - limit + 2] end
        nextMs = math.max(nextMs, base + windowMs - now)
      end
    end
  end
  if counted then
    if denied >= 0 then return now, longest, true, {1, denied, 0, deniedWait, deniedWait}, countedAt end
    return now, longest, true, {1, tightest, tightestRemaining, tightestReset, 0}, countedAt
  end
  -- A denied event is not recorded.
  if denied >= 0 then return now, longest, false, {0, denied, 0, deniedWait, 0}, 0 end
  return now, longest, false, {1, tightest, tightestRemaining, tightestReset, nextMs}, 0
end

local function window_record(key, member, now, longest)
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, longest)
end
