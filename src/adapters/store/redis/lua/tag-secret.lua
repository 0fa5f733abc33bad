-- The secret the tags of verification ids are keyed with: made from the candidate by the first
-- gateway to ask, read by the rest. A gateway offers back the secret it holds, so that one
-- lost by Redis (a restart that kept nothing, a FLUSHALL) comes back as it was.
--
-- Input:
--   KEYS[1] secretKey   the secret (hex)
--   ARGV[1] candidate   the secret this gateway holds, or a new random one
-- Output: the secret that stands.
local secretKey = KEYS[1]
local candidate = ARGV[1]

redis.call('SET', secretKey, candidate, 'NX')
return redis.call('GET', secretKey)
