/**
 * The Idempotency-Key's Lua (see redis-scripts.ts for how scripts are run). A
 * key's claim lives under its phone's hash tag, so the send's admission step
 * (admit-scripts.ts) claims it with the phone's windows; its binding to one
 * phone lives under the key's own.
 */

/**
 * An Idempotency-Key's record under its phone's tag (JSON {f = phone, a = answer?}):
 * `idem_read` says what a claim for `phone` finds (nil: the key is free),
 * `idem_claim` takes it (a crashed gateway's claim expires after `pendingMs`).
 */
export const IDEM_FN = `
local function idem_read(key, phone)
  local v = redis.call('GET', key)
  if not v then return nil end
  local rec = cjson.decode(v)
  if rec.f ~= phone then return 'conflict', '' end
  if rec.a == nil then return 'pending', '' end
  return 'done', rec.a
end
local function idem_claim(key, phone, pendingMs)
  redis.call('SET', key, cjson.encode({f = phone}), 'PX', pendingMs)
end
`;

/**
 * KEYS[1]: idempotency record. ARGV[1]: phone; ARGV[2]: ms a pending claim lives.
 * Returns {'new'} | {'pending', ''} | {'conflict', ''} | {'done', answer}.
 */
export const CLAIM_IDEMPOTENCY_LUA = `${IDEM_FN}
local state, answer = idem_read(KEYS[1], ARGV[1])
if state then return {state, answer} end
idem_claim(KEYS[1], ARGV[1], ARGV[2])
return {'new'}
`;

/**
 * KEYS[1]: which phone an Idempotency-Key belongs to. ARGV[1]: phone; ARGV[2]: ms.
 * Binds the key to the phone unless it is bound. Returns 'new' (bound now),
 * 'same' (bound to this phone) or 'other'.
 */
export const OWN_IDEMPOTENCY_LUA = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'new'
end
if v == ARGV[1] then return 'same' end
return 'other'
`;

/**
 * KEYS[1]: idempotency record. ARGV[1]: phone; ARGV[2]: 1 to drop an answer too.
 * Deletes the phone's record while it is still a pending claim, or (ARGV[2] = 1)
 * whatever it holds; another phone's record (one range shares the key) stays.
 * Returns 1 if it deleted it.
 */
export const RELEASE_IDEMPOTENCY_LUA = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local rec = cjson.decode(v)
if rec.f == ARGV[1] and (ARGV[2] == '1' or rec.a == nil) then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** KEYS[1]: a key. Deletes it only while it holds ARGV[1] (a phone's own binding of an Idempotency-Key). */
export const DELETE_IF_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
