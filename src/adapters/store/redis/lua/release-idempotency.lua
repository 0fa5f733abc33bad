-- Frees a phone's claim of an Idempotency-Key so that a retry may send: while it is pending,
-- or (forget = 1) whatever it holds, an answer stored without its verification record too.
-- Another phone's record (two phones of one range share the claim's key) is left alone.
--
-- Input:
--   KEYS[1] claimKey   the key's record under the phone's tag (see lib/idempotency.lua)
--   ARGV[1] phone
--   ARGV[2] forget     1 to drop a stored answer too, 0 to free only a pending claim
-- Output: 1 when the record was deleted, else 0.
local claimKey = KEYS[1]
local phone, forget = ARGV[1], ARGV[2]

local stored = redis.call('GET', claimKey)
if not stored then return 0 end
local record = cjson.decode(stored)
if record.f == phone and (forget == '1' or record.a == nil) then return redis.call('DEL', claimKey) end
return 0
