-- Binds an Idempotency-Key to one phone, on the key's own slot, unless it is bound. A claim
-- lives under its phone's tag (so that a send claims its key with its checks, in one step);
-- this binding is what finds a key that a phone of another range claimed.
--
-- Input:
--   KEYS[1] ownerKey    which phone the key belongs to
--   ARGV[1] phone
--   ARGV[2] ttlMs       how long the binding lives unanswered
-- Output: 'new' (bound now), 'same' (bound to this phone) or 'other'.
local ownerKey = KEYS[1]
local phone, ttlMs = ARGV[1], ARGV[2]

local owner = redis.call('GET', ownerKey)
if not owner then
  redis.call('SET', ownerKey, phone, 'PX', ttlMs)
  return 'new'
end
if owner == phone then return 'same' end
return 'other'
