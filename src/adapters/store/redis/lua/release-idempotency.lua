-- Frees a phone's claim of an Idempotency-Key so that a retry may send: while it is pending,
-- or (forget = 1) whatever it holds, an answer stored without its verification record too.
-- A pending claim freed for a retry is kept, marked released, with its retries so far (admit.lua
-- caps them); forgotten, or taken back (nothing was sent), it goes. Another phone's record (two
-- phones of one range share the claim's key) is left alone.
--
-- Input:
--   KEYS[1] claimKey   the key's record under the phone's tag (see lib/idempotency.lua)
--   ARGV[1] phone
--   ARGV[2] how        'forget' (drop a stored answer too), 'cancel' (drop a pending claim) or
--                      'release' (keep a pending claim's retries, released)
--   ARGV[3] keepMs     how long a released claim keeps its retries ('release' only)
-- Output: 1 when the claim was freed, else 0.
local claimKey = KEYS[1]
local phone, how, keepMs = ARGV[1], ARGV[2], ARGV[3]

local stored = redis.call('GET', claimKey)
if not stored then return 0 end
local record = cjson.decode(stored)
if record.f ~= phone or (how ~= 'forget' and (record.a ~= nil or record.r == 1)) then return 0 end
if how == 'release' then
  redis.call('SET', claimKey, cjson.encode({f = phone, t = record.t or 0, r = 1}), 'PX', keepMs)
  return 1
end
return redis.call('DEL', claimKey)
