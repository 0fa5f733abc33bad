-- Deletes a key only while it holds the given value (a phone's own binding of an
-- Idempotency-Key, see own-idempotency.lua; never another phone's).
--
-- Input:
--   KEYS[1] key
--   ARGV[1] expected
-- Output: 1 when deleted, else 0.
local key = KEYS[1]
local expected = ARGV[1]

if redis.call('GET', key) == expected then return redis.call('DEL', key) end
return 0
