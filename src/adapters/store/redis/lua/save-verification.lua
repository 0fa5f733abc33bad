-- Remembers which phone a verification id belongs to, until its code expires. An id seen
-- before (an upstream replay) keeps its spent attempts and its used flag.
--
-- The record is a hash: p = the phone, n = attempts spent, ok = 1 once verified, u = the bucket its
-- send is unproven in (see lib/unproven.lua), given back when the code is verified.
--
-- Input:
--   KEYS[1] recordKey   the id's record
--   ARGV[1] phone       the phone, as the gateway keys it
--   ARGV[2] ttlMs       the code's lifetime left
--   ARGV[3] unproven    the bucket its send is unproven in ('' when it is not)
-- Output: 1 when the record was made, 0 when it was there.
local recordKey = KEYS[1]
local phone, ttlMs, unproven = ARGV[1], ARGV[2], ARGV[3]

if redis.call('EXISTS', recordKey) == 1 then return 0 end
redis.call('HSET', recordKey, 'p', phone, 'n', 0, 'ok', 0)
if unproven ~= '' then redis.call('HSET', recordKey, 'u', unproven) end
redis.call('PEXPIRE', recordKey, ttlMs)
return 1
