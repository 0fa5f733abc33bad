/**
 * Send budgets in Redis: one hash per budget (`otp:budget:{<scope>}`, one hash
 * tag, so one Cluster slot), a field per window and bucket (`<k>:<bucket>`,
 * bucket = floor(ms / bucketMs)) holding a count. At most about 61 fields per
 * window, whatever the number of sends.
 */

/**
 * `budget_check(key, a, now)` and `budget_record(key, a, now, res)`, Lua
 * functions: the first mirrors `budgetDecision` in src/lib/send-budget.ts (and
 * drops buckets no window sees), the second counts an allowed send in every
 * window. `a`: limit, window ms, bucket ms of each window, flat.
 * A check returns {allowed, index (0-based), remaining, waitMs, receipt ('' until
 * recorded), used per window...}; recording fills in the receipt and the use.
 */
export const BUDGET_FN = `
local function budget_check(key, a, now)
  local n = #a / 3
  local live, stale = {}, {}
  for k = 1, n do live[k] = {} end
  local raw = redis.call('HGETALL', key)
  for i = 1, #raw, 2 do
    local k, j = string.match(raw[i], '^(%d+):(%d+)$')
    k, j = tonumber(k), tonumber(j)
    -- A bucket counts while it overlaps (now - window, now]; older ones and strays go.
    if k and k >= 1 and k <= n and j >= math.floor((now - tonumber(a[3 * k - 1])) / tonumber(a[3 * k])) then
      table.insert(live[k], {j, tonumber(raw[i + 1])})
    else
      stale[#stale + 1] = raw[i]
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  local denied, deniedWait = -1, -1
  local tight, tightRemaining = 0, math.huge
  local used = {}
  for k = 1, n do
    local limit, w, s = tonumber(a[3 * k - 2]), tonumber(a[3 * k - 1]), tonumber(a[3 * k])
    table.sort(live[k], function(x, y) return x[1] < y[1] end)
    local sum = 0
    for _, b in ipairs(live[k]) do sum = sum + b[2] end
    used[k] = sum
    if sum >= limit then
      -- A send passes once enough of the oldest buckets have left the window.
      local running, wait = sum, w
      for _, b in ipairs(live[k]) do
        running = running - b[2]
        if running < limit then wait = (b[1] + 1) * s + w - now; break end
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

/** KEYS[1]: the budget's hash. ARGV: the receipt's fields. Takes one send back from each bucket still there. */
export const REFUND_BUDGET_LUA = `
for _, field in ipairs(ARGV) do
  local count = tonumber(redis.call('HGET', KEYS[1], field) or '0')
  if count > 0 then redis.call('HINCRBY', KEYS[1], field, -1) end
end
return 1
`;
