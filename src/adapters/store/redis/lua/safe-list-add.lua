-- Puts a whole block or one number of it on the safe list (taking one off is a plain HDEL).
--
-- Input:
--   KEYS[1] pumpKey   the block's hash (see lib/pump.lua)
--   ARGV[1] field     'safe' (the whole block) or 'safe:<number>'
--   ARGV[2] keepMs    how long the entry is kept at least
-- Output: 1
local pumpKey = KEYS[1]
local field, keepMs = ARGV[1], tonumber(ARGV[2])

redis.call('HSET', pumpKey, field, 1)
if redis.call('PTTL', pumpKey) < keepMs then redis.call('PEXPIRE', pumpKey, keepMs) end
return 1
