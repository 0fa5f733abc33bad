-- Remembers a verification: which phone its id belongs to, its code's expiry and attempts, and
-- who sent it, until its code expires plus the time its final state stays readable. An id seen
-- before (an upstream replay) keeps its spent attempts, its used flag and its caller.
--
-- The record is a hash: p = the phone, n = attempts spent, ok = 1 once verified, x = 1 once
-- canceled, u = the bucket its send is unproven in (see lib/unproven.lua), given back when the
-- code is verified; s = sent at, e = expires at (ms since the epoch, the gateway's clock),
-- a = attempts allowed, c = the caller key's id ('' without caller keys).
--
-- Input:
--   KEYS[1] recordKey    the id's record
--   ARGV[1] phone        the phone, as the gateway keys it
--   ARGV[2] keepMs       how long the record lives: the code's lifetime left plus VERIFICATION_KEEP
--   ARGV[3] unproven     the bucket its send is unproven in ('' when it is not)
--   ARGV[4] sentAtMs
--   ARGV[5] expiresAtMs
--   ARGV[6] attempts     attempts allowed
--   ARGV[7] caller       the caller key's id, or ''
-- Output: 1 when the record was made, 0 when it was there.
local recordKey = KEYS[1]
local phone, keepMs, unproven = ARGV[1], ARGV[2], ARGV[3]
local sentAtMs, expiresAtMs, attempts, caller = ARGV[4], ARGV[5], ARGV[6], ARGV[7]

if redis.call('EXISTS', recordKey) == 1 then return 0 end
redis.call('HSET', recordKey, 'p', phone, 'n', 0, 'ok', 0,
  's', sentAtMs, 'e', expiresAtMs, 'a', attempts, 'c', caller)
if unproven ~= '' then redis.call('HSET', recordKey, 'u', unproven) end
redis.call('PEXPIRE', recordKey, keepMs)
return 1
