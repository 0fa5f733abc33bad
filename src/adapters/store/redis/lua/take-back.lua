-- Takes one send back from each field given (a budget's receipt, a pumping count `s:<bucket>` or an
-- unproven one `u:<bucket>`) while it is above 0, and from the total that counts it: a budget
-- window's `t:<k>`, a pump hash's judged sends `J` once the bucket matured (up to `m`; see
-- lib/pump-totals.lua), its unproven sends `u#` (see lib/unproven.lua). A hash
-- left holding one field at 0 held only what was taken back: it is deleted (a refused send
-- leaves nothing behind).
--
-- Input:
--   KEYS[1] hashKey      a budget's hash or a pump hash
--   ARGV[1..] fields     the fields to take one from
-- Output: 1
local hashKey = KEYS[1]
local firstField = ARGV[1]

for _, field in ipairs(ARGV) do
  local count = tonumber(redis.call('HGET', hashKey, field) or '0')
  if count > 0 then
    redis.call('HINCRBY', hashKey, field, -1)
    -- A bucket still there is one its window's total counts (a bucket leaves the total as it goes).
    local window = string.match(field, '^(%d+):%d+$')
    if window and tonumber(redis.call('HGET', hashKey, 't:' .. window) or '0') > 0 then
      redis.call('HINCRBY', hashKey, 't:' .. window, -1)
    end
    local sentBucket = string.match(field, '^s:(%d+)$')
    local matured = sentBucket and redis.call('HGET', hashKey, 'm')
    if matured and tonumber(sentBucket) <= tonumber(matured) then redis.call('HINCRBY', hashKey, 'J', -1) end
    if string.match(field, '^u:%-?%d+$') then redis.call('HINCRBY', hashKey, 'u#', -1) end
  end
end
if redis.call('HLEN', hashKey) == 1 and tonumber(redis.call('HGET', hashKey, firstField) or '1') == 0 then
  redis.call('DEL', hashKey)
end
return 1
