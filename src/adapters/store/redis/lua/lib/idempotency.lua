-- An Idempotency-Key's claim and answer, under its phone's hash tag: a JSON record
-- {f = the phone that holds the key, a = the stored answer, absent while the send runs,
--  t = the key's retries so far, r = 1 once a failed send released it for a retry}.
--
-- idem_read(key, phone): what a claim of the key for `phone` finds: nil (the key is free),
--   'conflict' (another phone's), 'pending' (a send with it still runs) or 'done' and the answer;
--   then the retries the key has had, and true when a failed send released it (a released key is
--   free for its phone, its retries counted; another phone's conflict).
-- idem_claim(key, phone, pendingMs, retries): takes the key for `phone`, with its retries so far; a
--   claim whose gateway died frees itself after pendingMs.
local function idem_read(key, phone)
  local stored = redis.call('GET', key)
  if not stored then return nil, '', 0 end
  local record = cjson.decode(stored)
  -- A key released by a failed send stays its phone's: the send may have gone out.
  if record.f ~= phone then return 'conflict', '', 0 end
  local retries = tonumber(record.t) or 0
  if record.r == 1 then return nil, '', retries, true end
  if record.a == nil then return 'pending', '', retries end
  return 'done', record.a, retries
end

local function idem_claim(key, phone, pendingMs, retries)
  redis.call('SET', key, cjson.encode({f = phone, t = retries}), 'PX', pendingMs)
end
