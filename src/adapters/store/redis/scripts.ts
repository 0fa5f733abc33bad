/**
 * Lua run inside Redis, so each check-and-update is atomic across every gateway
 * process. Loaded with ioredis `defineCommand`: EVALSHA, and EVAL when Redis
 * answers NOSCRIPT (after a restart or SCRIPT FLUSH). Each script touches keys
 * of one hash tag, so it runs on Redis Cluster as is.
 */

/**
 * Sliding-window log: mirrors `decideRaw` in src/domain/rate-window.ts, as a Lua
 * function that decides and does not record (the callers below record).
 * `w`: limit and window ms of each window, flat. Returns now, the longest
 * window, whether the member was recorded before, and {allowed, index
 * (0-based), remaining, waitMs, nextMs}.
 */
export const WINDOW_FN = `
local function window_decide(key, member, w)
  -- Time from Redis, so every gateway process (and a promoted replica) agrees on "now".
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local windows = #w / 2
  local longest = 0
  for k = 1, windows do longest = math.max(longest, tonumber(w[2 * k])) end
  -- What stays is at most the largest limit, cheap to read whole; what no window can see goes.
  -- Already recorded (a retry with the same idempotency key): passes, is not counted twice.
  local raw = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local ts, stale, counted = {}, false, false
  for i = 2, #raw, 2 do
    local at = tonumber(raw[i])
    if at <= now - longest then
      stale = true
    else
      ts[#ts + 1] = at
      if raw[i - 1] == member then counted = true end
    end
  end
  if stale then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest) end
  local n = #ts
  local denied, deniedWait = -1, -1
  local tight, tightRemaining, tightReset = -1, math.huge, 0
  local nextMs = 0
  for k = 1, windows do
    local limit, ms = tonumber(w[2 * k - 1]), tonumber(w[2 * k])
    local inWindow, j = 0, n
    while j >= 1 and ts[j] > now - ms do inWindow = inWindow + 1; j = j - 1 end
    if inWindow >= limit then
      -- The slot frees when the event limit places from the newest leaves the window.
      local wait = ts[n - limit + 1] + ms - now
      if wait > deniedWait then denied, deniedWait = k - 1, wait end
    else
      local remaining = limit - inWindow - 1
      local oldest = now
      if inWindow > 0 then oldest = ts[n - inWindow + 1] end
      if remaining < tightRemaining then tight, tightRemaining, tightReset = k - 1, remaining, oldest + ms - now end
      -- Recording this event fills the window until its limit-th newest event leaves.
      if remaining == 0 then
        local base = now
        if limit > 1 then base = ts[n - limit + 2] end
        nextMs = math.max(nextMs, base + ms - now)
      end
    end
  end
  if counted then
    if denied >= 0 then return now, longest, true, {1, denied, 0, deniedWait, deniedWait} end
    return now, longest, true, {1, tight, tightRemaining, tightReset, 0}
  end
  -- A denied event is not recorded.
  if denied >= 0 then return now, longest, false, {0, denied, 0, deniedWait, 0} end
  return now, longest, false, {1, tight, tightRemaining, tightReset, nextMs}
end

local function window_record(key, member, now, longest)
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, longest)
end
`;

/**
 * KEYS[1]: sorted set of events (score = ms, member = unique event id).
 * ARGV[1]: member to record (one already present passes uncounted);
 * ARGV[2k], ARGV[2k+1]: limit and window ms of window k.
 * Returns {allowed, index (0-based), remaining, waitMs, nextMs, recorded (1 when this call added the member)}.
 */
export const HIT_LUA = `${WINDOW_FN}
local w = {}
for i = 2, #ARGV do w[#w + 1] = ARGV[i] end
local now, longest, counted, r = window_decide(KEYS[1], ARGV[1], w)
local recorded = 0
if r[1] == 1 and not counted then
  window_record(KEYS[1], ARGV[1], now, longest)
  recorded = 1
end
return {r[1], r[2], r[3], r[4], r[5], recorded}
`;

/** A comma-joined list argument (a policy's numbers) as a Lua list. */
export const LIST_FN = `
local function list(s)
  local out = {}
  for v in string.gmatch(s, '[^,]+') do out[#out + 1] = v end
  return out
end
`;

/** KEYS[1]: the tag secret. Made from ARGV[1] by the first gateway to ask; returns the one that stands. */
export const TAG_SECRET_LUA = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`;

/**
 * KEYS[1]: verification hash. ARGV[1]: phone; ARGV[2]: ttl ms.
 * Creates it, with its expiry, only if absent; returns 1 if created.
 */
export const SAVE_VERIFICATION_LUA = `
-- An id seen before (an upstream replay) keeps its spent attempts and its used flag.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[1], 'n', 0, 'ok', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS[1]: verification hash {p = phone, n = attempts, ok = 0|1}; KEYS[2]: the
 * phone's verifies (both under the id's tag). ARGV[1]: max attempts; ARGV[2]:
 * the verify's member ('' charges no window: a test number); ARGV[3]: the
 * windows, comma-joined. Spends an attempt when one is left and the phone's
 * windows allow; a refused verify spends nothing. Returns {'ok' | 'unknown' |
 * 'used' | 'exhausted', phone (unless unknown)} or {'limited', phone, the
 * windows' five numbers as HIT}.
 */
export const BEGIN_VERIFY_LUA = `${WINDOW_FN}${LIST_FN}
local r = redis.call('HMGET', KEYS[1], 'p', 'n', 'ok')
if not r[1] then return {'unknown'} end
if r[3] == '1' then return {'used', r[1]} end
if tonumber(r[2]) >= tonumber(ARGV[1]) then return {'exhausted', r[1]} end
if ARGV[2] ~= '' then
  local now, longest, counted, d = window_decide(KEYS[2], ARGV[2], list(ARGV[3]))
  if d[1] == 0 then return {'limited', r[1], d[1], d[2], d[3], d[4], d[5]} end
  window_record(KEYS[2], ARGV[2], now, longest)
end
redis.call('HINCRBY', KEYS[1], 'n', 1)
return {'ok', r[1]}
`;

/** KEYS[1]: verification hash. Sets ok = 1; returns 1 only for the caller that set it. */
export const CLAIM_VERIFIED_LUA = `
if redis.call('HGET', KEYS[1], 'ok') ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'ok', 1)
return 1
`;
