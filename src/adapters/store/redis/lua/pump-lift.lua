-- Ends a block's or a range's block; its strikes stay, so a repeat is blocked longer.
--
-- Input:
--   KEYS[1] pumpKey   the block's or the range's hash (see lib/pump.lua)
-- Output: 1 if it was blocked, else 0.
local pumpKey = KEYS[1]

local blockedUntil = tonumber(redis.call('HGET', pumpKey, 'until') or '0')
redis.call('HDEL', pumpKey, 'until')
if blockedUntil > now_ms() then return 1 end
return 0
