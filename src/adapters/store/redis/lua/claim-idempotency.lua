-- Claims an Idempotency-Key for a phone, unless it is claimed (a test number's send claims here;
-- any other claims in admit.lua, with its checks).
--
-- Input:
--   KEYS[1] claimKey    the key's record under the phone's tag (see lib/idempotency.lua)
--   ARGV[1] phone
--   ARGV[2] pendingMs   how long an unanswered claim lives
-- Output: {state, answer}: 'new' (claimed now), 'pending', 'conflict', or 'done' and the answer.
local claimKey = KEYS[1]
local phone, pendingMs = ARGV[1], ARGV[2]

local state, answer, retries = idem_read(claimKey, phone)
if state then return {state, answer} end
-- A test number's sends are free: its retries are not capped.
idem_claim(claimKey, phone, pendingMs, retries)
return {'new', ''}
