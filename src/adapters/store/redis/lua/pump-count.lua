-- Counts one send that went out (when the admission's check did not count it) or one verified
-- send, in a block's pump hash and its range's (see lib/pump.lua).
--
-- Input:
--   KEYS[1..] pumpKeys   the block's hash, then its range's when it has one
--   ARGV[1] kind          's' (a send) or 'v' (a verified send)
--   ARGV[2] bucketMs      fine bucket ms
--   ARGV[3] keepMs        ms the hash must live at least
-- Output: 1
local kind, bucketMs, keepMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

local now = now_ms()
for _, pumpKey in ipairs(KEYS) do
  local field = kind .. ':' .. math.floor(now / bucketMs)
  if redis.call('HINCRBY', pumpKey, field, 1) == 1 and redis.call('PTTL', pumpKey) < keepMs then
    redis.call('PEXPIRE', pumpKey, keepMs)
  end
  -- A verify is in C at once; a send joins J when it matures (the next check adds it).
  if kind == 'v' and redis.call('HEXISTS', pumpKey, 'C') == 1 then redis.call('HINCRBY', pumpKey, 'C', 1) end
end
return 1
