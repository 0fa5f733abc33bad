-- Keeps what the upstream reported of a verification's SMS, only when it is further along than
-- what the record holds (queued, sent, then delivered or failed): reports that arrive out of order,
-- or from two gateways, never move it back. A record that is gone stays gone.
--
-- Input:
--   KEYS[1] recordKey   the id's record (see save-verification.lua)
--   ARGV[1] status      the delivery status
--   ARGV[2] rank        its place in the order (1 queued, 2 sent, 3 delivered or failed)
--   ARGV[3] atMs        when the gateway learned it
-- Output: 1 when kept, 0 when not.
local recordKey = KEYS[1]
local status, rank, atMs = ARGV[1], tonumber(ARGV[2]), ARGV[3]

if redis.call('EXISTS', recordKey) == 0 then return 0 end
if tonumber(redis.call('HGET', recordKey, 'dr') or '0') >= rank then return 0 end
redis.call('HSET', recordKey, 'd', status, 'dr', rank, 'du', atMs)
return 1
