-- Marks a verification id verified: success is reported once, to the first caller, and never
-- for an id canceled while its code was being checked.
--
-- Input:
--   KEYS[1] recordKey   the id's record (see save-verification.lua)
-- Output: 1 for the caller that marked it, 0 for any other (or an unknown id).
local recordKey = KEYS[1]

local record = redis.call('HMGET', recordKey, 'ok', 'x')
if record[1] ~= '0' or record[2] == '1' then return 0 end
redis.call('HSET', recordKey, 'ok', 1)
return 1
