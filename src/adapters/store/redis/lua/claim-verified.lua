-- Marks a verification id verified: success is reported once, to the first caller.
--
-- Input:
--   KEYS[1] recordKey   the id's record (see save-verification.lua)
-- Output: 1 for the caller that marked it, 0 for any other (or an unknown id).
local recordKey = KEYS[1]

if redis.call('HGET', recordKey, 'ok') ~= '0' then return 0 end
redis.call('HSET', recordKey, 'ok', 1)
return 1
