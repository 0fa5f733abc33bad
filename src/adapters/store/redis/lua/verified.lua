-- A code verified: counted in its block's and its range's pump hashes (the conversion the guard
-- judges), its send's unproven place given back (one place: its own), and its number proven for
-- the returning-users window. A safe-listed number's code counts nowhere, as its sends do not.
--
-- Input:
--   KEYS[1..] pumpKeys   the block's pump hash, then its range's (the shape's count: 0 with the guard off)
--   KEYS[#] provenKey    last, the block's proven bits of this generation, when the shape says so
--   ARGV[1] shape        how many pump keys, and 1 when a proven key follows them
--   ARGV[2] bucketMs     the pump hashes' fine bucket ms
--   ARGV[3] keepMs       ms a pump hash must live at least
--   ARGV[4] unproven     the bucket the send was unproven in ('' when it was not)
--   ARGV[5] index        the number's bit in its block
--   ARGV[6] provenTtlMs  ms a generation of proven bits lives
--   ARGV[7] number       the phone (its block's safe list)
-- Output: 1
local shape = list(ARGV[1])
local bucketMs, keepMs, unproven = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local index, provenTtlMs, number = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local pumpCount = tonumber(shape[1])
if pumpCount > 0 then
  local safe = redis.call('HMGET', KEYS[1], 'safe', 'safe:' .. number)
  if safe[1] or safe[2] then pumpCount = 0 end
end

-- One place back in the bucket the send was unproven in (and in the total, see lib/unproven.lua),
-- while the bucket holds any.
local function give_back(key, bucket)
  local field = 'u:' .. bucket
  if tonumber(redis.call('HGET', key, field) or '0') > 0 then
    redis.call('HINCRBY', key, field, -1)
    redis.call('HINCRBY', key, 'u#', -1)
  end
end

-- The number's bit in this generation of its block's proven bits (see lib/returning.lua).
local function prove(key, bit, ttlMs)
  redis.call('SETBIT', key, bit, 1)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ttlMs) end
end

local now = now_ms()
for k = 1, pumpCount do
  local pumpKey = KEYS[k]
  local field = 'v:' .. math.floor(now / bucketMs)
  if redis.call('HINCRBY', pumpKey, field, 1) == 1 and redis.call('PTTL', pumpKey) < keepMs then
    redis.call('PEXPIRE', pumpKey, keepMs)
  end
  -- A verify is in C at once (see lib/pump-totals.lua).
  if redis.call('HEXISTS', pumpKey, 'C') == 1 then redis.call('HINCRBY', pumpKey, 'C', 1) end
  if unproven ~= '' then give_back(pumpKey, unproven) end
end
if shape[2] == '1' then prove(KEYS[#KEYS], index, provenTtlMs) end
return 1
