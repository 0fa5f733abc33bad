-- An Idempotency-Key's claim and answer, under its phone's hash tag: a JSON record
-- {f = the phone that holds the key, a = the stored answer, absent while the send runs}.
--
-- idem_read(key, phone): what a claim of the key for `phone` finds: nil (the key is free),
--   'conflict' (another phone's), 'pending' (a send with it still runs) or 'done' and the answer.
-- idem_claim(key, phone, pendingMs): takes the key for `phone`; a claim whose gateway died
--   frees itself after pendingMs.
local function idem_read(key, phone)
  local stored = redis.call('GET', key)
  if not stored then return nil end
  local record = cjson.decode(stored)
  if record.f ~= phone then return 'conflict', '' end
  if record.a == nil then return 'pending', '' end
  return 'done', record.a
end

local function idem_claim(key, phone, pendingMs)
  redis.call('SET', key, cjson.encode({f = phone}), 'PX', pendingMs)
end
