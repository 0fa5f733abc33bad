-- Finds a verification id and begins its check in one step: spends one attempt when one is
-- left and, with a member, charges the id's phone one verify against its windows. A refused
-- verify spends nothing; an unknown, used, canceled, exhausted or expired id charges nothing to
-- its phone. The record outlives its code (for its status): past `e` the code is expired.
--
-- Input: both keys under the id's tag
--   KEYS[1] recordKey     the id's record (see save-verification.lua)
--   KEYS[2] verifiesKey   the phone's verifies (sorted set)
--   ARGV[1] maxAttempts   attempts an id allows
--   ARGV[2] member        the verify's event id; '' charges no window
--   ARGV[3] windows       the phone's verify windows, comma-joined (see window.lua)
--   ARGV[4] nowMs         the gateway's clock, which set the record's expiry
--   ARGV[5] caller        the caller key's id, or '': another caller's id is unknown to it
-- Output: {state, phone, unproven, allowed, index, remaining, waitMs, nextMs}
--   state 'ok' | 'unknown' | 'used' | 'canceled' | 'exhausted' | 'expired' | 'limited';
--   phone unless unknown; the bucket its send is unproven in ('' when it is not); the window
--   decision's five numbers only when limited.
local recordKey, verifiesKey = KEYS[1], KEYS[2]
local maxAttempts, member, windows, nowMs = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local caller = ARGV[5]

local record = redis.call('HMGET', recordKey, 'p', 'n', 'ok', 'u', 'x', 'e', 'c', 'a')
local phone, spent, verified, unproven = record[1], record[2], record[3], record[4] or ''
-- A record of an earlier release has no caller (nor times): any caller may verify it.
if not phone or (record[7] and record[7] ~= caller) then return {'unknown'} end
if verified == '1' then return {'used', phone, unproven} end
if record[5] == '1' then return {'canceled', phone, unproven} end
-- The attempts its send allowed, never more than a code may have now.
if tonumber(spent) >= math.min(tonumber(record[8] or maxAttempts), maxAttempts) then
  return {'exhausted', phone, unproven}
end
-- A record of an earlier release has no `e`: it lived only as long as its code.
if record[6] and nowMs >= tonumber(record[6]) then return {'expired', phone, unproven} end
if member ~= '' then
  local now, longest, _, decision = window_decide(verifiesKey, member, list(windows))
  if decision[1] == 0 then
    return {'limited', phone, unproven, decision[1], decision[2], decision[3], decision[4], decision[5]}
  end
  window_record(verifiesKey, member, now, longest)
end
redis.call('HINCRBY', recordKey, 'n', 1)
return {'ok', phone, unproven}
