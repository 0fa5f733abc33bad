-- Cancels a verification: its code can no longer verify. Only the caller that sent it may (another
-- caller's id is unknown to it), and only while it is pending. Nothing is given back to any limit or
-- budget: the SMS was paid for. One whose attempts are all spent has failed, but its last attempt
-- may still be at the upstream: it is marked too, so that the attempt cannot verify it after this.
--
-- Input:
--   KEYS[1] recordKey   the id's record (see save-verification.lua)
--   ARGV[1] caller      the caller key's id, or ''
--   ARGV[2] nowMs       the gateway's clock, which set the record's expiry
--   ARGV[3] maxAttempts attempts a code allows now (as begin-verify.lua counts them)
-- Output: {'canceled'} | {'unknown'} | {'ended', status},
--   status 'verified' | 'canceled' | 'failed' | 'expired'
local recordKey = KEYS[1]
local caller, nowMs, maxAttempts = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

local record = redis.call('HMGET', recordKey, 'p', 'ok', 'x', 'n', 'a', 'e', 'c')
-- A record of an earlier release (no times) has no status to change: unknown, as its GET is.
if not record[1] or not record[6] or (record[7] or '') ~= caller then return {'unknown'} end
if record[2] == '1' then return {'ended', 'verified'} end
local allowed = math.min(tonumber(record[5]), maxAttempts)
if tonumber(record[4]) >= allowed then
  redis.call('HSET', recordKey, 'x', 1)
  return {'ended', 'failed'}
end
if record[3] == '1' then return {'ended', 'canceled'} end
if nowMs >= tonumber(record[6]) then return {'ended', 'expired'} end
redis.call('HSET', recordKey, 'x', 1)
return {'canceled'}
