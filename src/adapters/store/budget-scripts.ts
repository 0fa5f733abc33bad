/**
 * Send budgets in Redis: one hash per budget (`otp:budget:{<scope>}`, one hash
 * tag, so one Cluster slot), a field per window and bucket (`<k>:<bucket>`,
 * bucket = floor(ms / bucketMs)) holding a count. At most about 61 fields per
 * window, whatever the number of sends.
 */

/**
 * Mirrors `budgetDecision` in src/lib/send-budget.ts, then records the send.
 * KEYS[1]: the budget's hash. ARGV[1]: 1 to record an allowed send, 0 to only look;
 * then limit, window ms, bucket ms of each window.
 * Returns {allowed, index (0-based), remaining, waitMs, receipt, used per window...}.
 */
export const BUDGET_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = (#ARGV - 1) / 3
local live, stale = {}, {}
for k = 1, n do live[k] = {} end
local raw = redis.call('HGETALL', KEYS[1])
for i = 1, #raw, 2 do
  local k, j = string.match(raw[i], '^(%d+):(%d+)$')
  k, j = tonumber(k), tonumber(j)
  -- A bucket counts while it overlaps (now - window, now]; older ones and strays go.
  if k and k >= 1 and k <= n and j >= math.floor((now - tonumber(ARGV[3 * k])) / tonumber(ARGV[3 * k + 1])) then
    table.insert(live[k], {j, tonumber(raw[i + 1])})
  else
    stale[#stale + 1] = raw[i]
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
local denied, deniedWait = -1, -1
local tight, tightRemaining = 0, math.huge
local used = {}
for k = 1, n do
  local limit, w, s = tonumber(ARGV[3 * k - 1]), tonumber(ARGV[3 * k]), tonumber(ARGV[3 * k + 1])
  table.sort(live[k], function(a, b) return a[1] < b[1] end)
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
if ARGV[1] ~= '1' then return {1, tight, tightRemaining, 0, '', unpack(used)} end
local receipt, ttl = {}, 0
for k = 1, n do
  local w, s = tonumber(ARGV[3 * k]), tonumber(ARGV[3 * k + 1])
  local field = k .. ':' .. math.floor(now / s)
  redis.call('HINCRBY', KEYS[1], field, 1)
  receipt[#receipt + 1] = field
  used[k] = used[k] + 1
  ttl = math.max(ttl, w + s)
end
-- The hash outlives its longest window by one bucket, then goes.
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, tight, tightRemaining, 0, table.concat(receipt, ','), unpack(used)}
`;

/** KEYS[1]: the budget's hash. ARGV: the receipt's fields. Takes one send back from each bucket still there. */
export const REFUND_BUDGET_LUA = `
for _, field in ipairs(ARGV) do
  local count = tonumber(redis.call('HGET', KEYS[1], field) or '0')
  if count > 0 then redis.call('HINCRBY', KEYS[1], field, -1) end
end
return 1
`;
