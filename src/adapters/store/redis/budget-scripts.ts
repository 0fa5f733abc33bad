/**
 * Send budgets in Redis: one hash per budget (`otp:budget:{<scope>}`, one hash
 * tag, so one Cluster slot), a field per window and bucket (`<k>:<bucket>`,
 * bucket = floor(ms / bucketMs)) holding a count, and per window its running
 * total (`t:<k>`, the sum of its buckets from `o:<k>` on) and the window and
 * bucket ms it was counted for (`g:<k>`). At most about 64 fields per window,
 * whatever the number of sends; a send reads the totals, not the buckets.
 */

/**
 * `budget_check(key, a, now)` and `budget_record(key, a, now, res)`, Lua
 * functions: the first mirrors `budgetDecision` in src/domain/send-budget.ts,
 * the second counts an allowed send in every window. `a`: limit, window ms,
 * bucket ms of each window, flat.
 * A check takes the buckets that left a window out of its total (and drops
 * them); the buckets themselves are read only to say how long a refused send
 * waits, or to count a window afresh (first use, a changed window, a long gap).
 * It returns {allowed, index (0-based), remaining, waitMs, receipt ('' until
 * recorded), used per window...}; recording fills in the receipt and the use.
 */
export const BUDGET_FN = `
-- Window k's total from its buckets, the stale ones (and those of windows no longer configured) dropped.
local function budget_recount(key, k, n, first)
  local raw = redis.call('HGETALL', key)
  local sum, stale = 0, {}
  for i = 1, #raw, 2 do
    local kk, j = string.match(raw[i], '^(%d+):(%d+)$')
    kk, j = tonumber(kk), tonumber(j)
    if kk == k and j >= first then
      sum = sum + tonumber(raw[i + 1])
    elseif kk == k or (kk and (kk < 1 or kk > n)) then
      stale[#stale + 1] = raw[i]
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return sum
end

local function budget_check(key, a, now)
  local n = #a / 3
  local names = {}
  for k = 1, n do
    names[#names + 1] = 't:' .. k
    names[#names + 1] = 'o:' .. k
    names[#names + 1] = 'g:' .. k
  end
  local meta = redis.call('HMGET', key, unpack(names))
  local denied, deniedWait = -1, -1
  local tight, tightRemaining = 0, math.huge
  local used = {}
  for k = 1, n do
    local limit, w, s = tonumber(a[3 * k - 2]), tonumber(a[3 * k - 1]), tonumber(a[3 * k])
    -- A bucket counts while it overlaps (now - window, now].
    local first, shape = math.floor((now - w) / s), w .. '/' .. s
    local sum, oldest = tonumber(meta[3 * k - 2]), tonumber(meta[3 * k - 1])
    if not sum or not oldest or meta[3 * k] ~= shape or first - oldest > 64 then
      sum = budget_recount(key, k, n, first)
      redis.call('HSET', key, 't:' .. k, sum, 'o:' .. k, first, 'g:' .. k, shape)
      -- A budget first looked at (not yet sent on) must not stay for ever.
      if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, w + s) end
    elseif oldest < first then
      local gone = {}
      for j = oldest, first - 1 do gone[#gone + 1] = k .. ':' .. j end
      for _, c in ipairs(redis.call('HMGET', key, unpack(gone))) do sum = sum - (tonumber(c) or 0) end
      sum = math.max(sum, 0)
      redis.call('HDEL', key, unpack(gone))
      redis.call('HSET', key, 't:' .. k, sum, 'o:' .. k, first)
    end
    used[k] = sum
    if sum >= limit then
      -- A send passes once enough of the oldest buckets have left the window.
      local live = {}
      for j = first, math.floor(now / s) do live[#live + 1] = k .. ':' .. j end
      local running, wait = sum, w
      for i, c in ipairs(redis.call('HMGET', key, unpack(live))) do
        running = running - (tonumber(c) or 0)
        if running < limit then wait = (first + i) * s + w - now; break end
      end
      if wait > deniedWait then denied, deniedWait = k - 1, wait end
    elseif limit - sum - 1 < tightRemaining then
      tight, tightRemaining = k - 1, limit - sum - 1
    end
  end
  if denied >= 0 then return {0, denied, 0, deniedWait, '', unpack(used)} end
  return {1, tight, tightRemaining, 0, '', unpack(used)}
end

local function budget_record(key, a, now, res)
  local receipt, ttl, opened = {}, 0, false
  for k = 1, #a / 3 do
    local w, s = tonumber(a[3 * k - 1]), tonumber(a[3 * k])
    local field = k .. ':' .. math.floor(now / s)
    if redis.call('HINCRBY', key, field, 1) == 1 then opened = true end
    redis.call('HINCRBY', key, 't:' .. k, 1)
    receipt[#receipt + 1] = field
    res[5 + k] = res[5 + k] + 1
    ttl = math.max(ttl, w + s)
  end
  -- The hash outlives its newest bucket's longest window by one bucket, then goes: set when a
  -- bucket opens (a bucket starts before it is opened, so each is kept while a window sees it).
  if opened then redis.call('PEXPIRE', key, ttl) end
  res[5] = table.concat(receipt, ',')
end
`;

/**
 * One budget on its own (a Cluster's budgets, and the operator's look).
 * KEYS[1]: the budget's hash. ARGV[1]: 1 to record an allowed send, 0 to only
 * look; then the windows as BUDGET_FN reads them. Returns budget_check's reply.
 */
export const BUDGET_LUA = `${BUDGET_FN}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local a = {}
for i = 2, #ARGV do a[#a + 1] = ARGV[i] end
local res = budget_check(KEYS[1], a, now)
if ARGV[1] == '1' and res[1] == 1 then budget_record(KEYS[1], a, now, res) end
return res
`;

/**
 * KEYS[1]: a budget's hash (or a pump hash). ARGV: the receipt's fields. Takes
 * one send back from each bucket still there, and from its window's total (a
 * pump hash's judged total, src/adapters/store/pumping-scripts.ts).
 */
export const REFUND_BUDGET_LUA = `
for _, field in ipairs(ARGV) do
  local count = tonumber(redis.call('HGET', KEYS[1], field) or '0')
  if count > 0 then
    redis.call('HINCRBY', KEYS[1], field, -1)
    -- A bucket still there is one its window's total counts (a bucket leaves the total as it goes).
    local k = string.match(field, '^(%d+):%d+$')
    if k and tonumber(redis.call('HGET', KEYS[1], 't:' .. k) or '0') > 0 then redis.call('HINCRBY', KEYS[1], 't:' .. k, -1) end
    -- A pump hash's send (s:<bucket>): in its judged total J once matured (up to m).
    local j = string.match(field, '^s:(%d+)$')
    local m = j and redis.call('HGET', KEYS[1], 'm')
    if m and tonumber(j) <= tonumber(m) then redis.call('HINCRBY', KEYS[1], 'J', -1) end
  end
end
-- A hash left holding one field at 0 held only what was taken back: not kept (a refused send leaves nothing).
if redis.call('HLEN', KEYS[1]) == 1 and tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '1') == 0 then redis.call('DEL', KEYS[1]) end
return 1
`;
