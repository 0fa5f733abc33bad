/**
 * The pumping guard in Redis: one hash per number prefix and one per wider range
 * (`otp:pump:{<range>}<rest of the prefix>`, `otp:pump:{<range>}`: one hash tag,
 * the range's, which the phone's own keys carry too; `otp:pump:{<prefix>}` with
 * no ranges), with sends and verified sends counted per bucket (`s:`, `v:`,
 * folded into `S:`, `V:` as they age), the block (`until`, `strikes`) and
 * safe-list entries (`safe`, `safe:<number>`). At most about 180 fields.
 * Running totals spare a send to a busy prefix (16 count fields or more) reading
 * the buckets: `J` the judged sends (every
 * `S:` bucket from `o` on, and the `s:` buckets up to `m`), `C` the verified
 * ones (every `v:` and `V:` bucket), `f` the oldest fine bucket not yet folded,
 * and `g` the window, bucket and maturity ms they were counted for.
 */

/**
 * `pump_check(key, number, a, now, count)`, a Lua function that ADMIT_LUA calls
 * with the ms of its own Redis TIME: mirrors `judge` in src/lib/pumping.ts
 * (folding included) and sets the block; a clear prefix has the send counted
 * unless `count` is false (a retried send, counted by its first attempt).
 * A check reads the totals and the block; it reads buckets only as they mature,
 * fold or leave the window (a few at a time), or to count a hash afresh (first
 * use, a changed shape, a long gap), or when it blocks.
 * a: window ms, bucket ms, maturity ms, min sends, min conversion (0–1),
 * block ms, max block ms, strike memory ms, ms the hash must live at least.
 * Returns {state (0 clear, 1 blocked, 2 blocked now), remaining ms, strikes,
 * bucket the send was counted in (clear only; -1 if not counted, -2 if safe-listed),
 * and when blocked now the counts it was judged on (field, count, …) for pump_forget}.
 */
export const PUMP_FN = `
local PUMP_TOTALS_FROM = 16

local function pump_sum(key, fields)
  local n = 0
  if #fields == 0 then return n end
  for _, v in ipairs(redis.call('HMGET', key, unpack(fields))) do n = n + (tonumber(v) or 0) end
  return n
end

-- The totals from the buckets, folding and dropping as judge does (totals not written), and about
-- how many count fields the hash keeps; whether it was empty.
local function pump_recount(key, b, c, firstFine, firstCoarse, lastJudged)
  local judged, converted, gone, folds, fields = 0, 0, {}, {}, 0
  local raw = redis.call('HGETALL', key)
  for i = 1, #raw, 2 do
    local field = raw[i]
    local kind, j = string.match(field, '^([svSV]):(%d+)$')
    if kind then
      j = tonumber(j)
      local n = tonumber(raw[i + 1])
      fields = fields + 1
      if kind == 's' or kind == 'v' then
        if j < firstFine then
          -- Older than one coarse bucket: folded into its coarse bucket (or dropped past the window).
          gone[#gone + 1] = field
          local coarse = math.floor(j * b / c)
          if coarse >= firstCoarse then
            local into = string.upper(kind) .. ':' .. coarse
            folds[into] = (folds[into] or 0) + n
            if kind == 's' then judged = judged + n else converted = converted + n end
          end
        elseif kind == 's' then
          if j <= lastJudged then judged = judged + n end
        else
          converted = converted + n
        end
      elseif j < firstCoarse then
        gone[#gone + 1] = field
      elseif kind == 'S' then
        judged = judged + n
      else
        converted = converted + n
      end
    end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  for field, n in pairs(folds) do redis.call('HINCRBY', key, field, n) end
  return judged, converted, fields - #gone, #raw == 0
end

-- The totals brought up to now: matured fine sends join J, fine buckets older than one coarse
-- bucket fold into it, coarse buckets the window no longer sees leave J and C.
local function pump_advance(key, b, c, t, firstFine, firstCoarse, lastJudged)
  local J, C, m, f, o = t[1], t[2], t[3], t[4], t[5]
  if m < lastJudged then
    local names = {}
    for j = m + 1, lastJudged do names[#names + 1] = 's:' .. j end
    J = J + pump_sum(key, names)
    m = lastJudged
  end
  if f < firstFine then
    local names, folds = {}, {}
    for j = f, firstFine - 1 do
      names[#names + 1] = 's:' .. j
      names[#names + 1] = 'v:' .. j
    end
    local vals = redis.call('HMGET', key, unpack(names))
    for i, name in ipairs(names) do
      local n = tonumber(vals[i]) or 0
      if n ~= 0 then
        local kind, j = string.sub(name, 1, 1), tonumber(string.sub(name, 3))
        local coarse = math.floor(j * b / c)
        local live = coarse >= firstCoarse
        if kind == 's' then
          -- J holds a fine send once it matured (up to m): one that folds unmatured joins, one dropped leaves.
          if live and j > m then J = J + n elseif not live and j <= m then J = J - n end
        elseif not live then
          C = C - n
        end
        if live then
          local into = string.upper(kind) .. ':' .. coarse
          folds[into] = (folds[into] or 0) + n
        end
      end
    end
    redis.call('HDEL', key, unpack(names))
    for field, n in pairs(folds) do redis.call('HINCRBY', key, field, n) end
    f = firstFine
  end
  if o < firstCoarse then
    local sends, verifies, names = {}, {}, {}
    for k = o, firstCoarse - 1 do
      sends[#sends + 1] = 'S:' .. k
      verifies[#verifies + 1] = 'V:' .. k
      names[#names + 1] = 'S:' .. k
      names[#names + 1] = 'V:' .. k
    end
    J = J - pump_sum(key, sends)
    C = C - pump_sum(key, verifies)
    redis.call('HDEL', key, unpack(names))
    o = firstCoarse
  end
  return J, C, m, f, o
end

local function pump_check(key, number, a, now, count)
  local meta = redis.call('HMGET', key, 'safe', 'safe:' .. number, 'until', 'strikes', 'J', 'C', 'm', 'f', 'o', 'g')
  if meta[1] or meta[2] then return {0, 0, 0, -2} end
  local untilMs, strikes = tonumber(meta[3] or '0'), tonumber(meta[4] or '0')
  if untilMs > now then return {1, untilMs - now, strikes} end
  local w, b, mt = tonumber(a[1]), tonumber(a[2]), tonumber(a[3])
  local c = b * 60
  local firstFine, firstCoarse = math.floor((now - c) / b), math.floor((now - w) / c)
  -- Judged: sends whose codes have all expired (and everything folded); verifies wherever they landed.
  local lastJudged = math.floor((now - mt) / b) - 1
  local shape = a[1] .. '/' .. a[2] .. '/' .. a[3]
  local t = {tonumber(meta[5]), tonumber(meta[6]), tonumber(meta[7]), tonumber(meta[8]), tonumber(meta[9])}
  -- Totals are kept from PUMP_TOTALS_FROM count fields on: a small hash is cheaper read whole
  -- than kept up (most prefixes see a send or two); a busy one is read by its totals only.
  local J, C, m, f, o, kept, empty
  local tracked = meta[10] == shape and t[1] and t[2] and t[3] and t[4] and t[5]
    and lastJudged - t[3] <= 64 and firstFine - t[4] <= 64 and firstCoarse - t[5] <= 26
  if tracked then
    J, C, m, f, o = pump_advance(key, b, c, t, firstFine, firstCoarse, lastJudged)
  else
    J, C, kept, empty = pump_recount(key, b, c, firstFine, firstCoarse, lastJudged)
    m, f, o = lastJudged, firstFine, firstCoarse
    if kept >= PUMP_TOTALS_FROM then
      tracked = true
    elseif meta[10] then
      redis.call('HDEL', key, 'J', 'C', 'm', 'f', 'o', 'g')
    end
  end
  if J >= tonumber(a[4]) and C < J * tonumber(a[5]) then
    strikes = strikes + 1
    local dur = math.min(tonumber(a[6]) * 2 ^ (strikes - 1), tonumber(a[7]))
    -- The counts that judged it go (and the totals): after the block the prefix must earn a new one.
    local raw, counts, held = redis.call('HGETALL', key), {'J', 'C', 'm', 'f', 'o', 'g'}, {}
    for i = 1, #raw, 2 do
      if string.match(raw[i], '^[svSV]:%d+$') then
        counts[#counts + 1] = raw[i]
        held[#held + 1] = raw[i]
        held[#held + 1] = tonumber(raw[i + 1])
      end
    end
    redis.call('HDEL', key, unpack(counts))
    redis.call('HSET', key, 'until', now + dur, 'strikes', strikes)
    -- Remembered past the block, so that a repeat is blocked longer.
    redis.call('PEXPIRE', key, dur + tonumber(a[8]))
    return {2, dur, strikes, -1, held}
  end
  if tracked and (J ~= t[1] or C ~= t[2] or m ~= t[3] or f ~= t[4] or o ~= t[5] or meta[10] ~= shape) then
    redis.call('HSET', key, 'J', J, 'C', C, 'm', m, 'f', f, 'o', o, 'g', shape)
  end
  if not count then return {0, 0, strikes, -1} end
  -- Clear: the send is counted now (taken back if it does not go out). A new bucket makes the hash
  -- live at least a[9] more: it then outlives every bucket's start by that.
  local bucket = math.floor(now / b)
  if redis.call('HINCRBY', key, 's:' .. bucket, 1) == 1 and (empty or redis.call('PTTL', key) < tonumber(a[9])) then
    redis.call('PEXPIRE', key, a[9])
  end
  return {0, 0, strikes, bucket}
end

-- The totals' change for n taken from (or given to) one bucket field of a hash with totals: a
-- matured fine send or a coarse one is in J, a verify in C. m: the hash's m (nil: no totals).
local function pump_total_delta(field, n, m)
  if not m then return nil, 0 end
  local kind, j = string.match(field, '^([svSV]):(%d+)$')
  if kind == 'S' or (kind == 's' and tonumber(j) <= m) then return 'J', n end
  if kind == 'v' or kind == 'V' then return 'C', n end
  return nil, 0
end

-- A block just blocked: its range forgets the counts that judged it (the block answers for them
-- now), so one pumped block does not close its 99 neighbours. held: field, count, ... as the block
-- had them; the range may have folded a fine bucket since (it is checked at least as often).
local function pump_forget(key, held)
  local m = tonumber(redis.call('HGET', key, 'm') or 'x')
  for i = 1, #held, 2 do
    local field, n = held[i], held[i + 1]
    local have = tonumber(redis.call('HGET', key, field) or '0')
    local kind, j = string.match(field, '^([sv]):(%d+)$')
    if have == 0 and kind then
      field = string.upper(kind) .. ':' .. math.floor(tonumber(j) / 60)
      have = tonumber(redis.call('HGET', key, field) or '0')
    end
    if have > 0 then
      local take = math.min(n, have)
      redis.call('HINCRBY', key, field, -take)
      local total, d = pump_total_delta(field, take, m)
      if total then redis.call('HINCRBY', key, total, -d) end
    end
  end
end
`;

/**
 * KEYS: the prefix's hash, then its range's if it has one. ARGV: `s` or `v`,
 * bucket ms, ms the hash must live at least. Counts one in each.
 */
export const PUMP_RECORD_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, key in ipairs(KEYS) do
  local field = ARGV[1] .. ':' .. math.floor(now / tonumber(ARGV[2]))
  if redis.call('HINCRBY', key, field, 1) == 1 and redis.call('PTTL', key) < tonumber(ARGV[3]) then
    redis.call('PEXPIRE', key, ARGV[3])
  end
  -- A verify is in C at once; a send joins J when it matures (the next check adds it).
  if ARGV[1] == 'v' and redis.call('HEXISTS', key, 'C') == 1 then redis.call('HINCRBY', key, 'C', 1) end
end
return 1
`;

/** KEYS[1]: the prefix's hash. Ends its block (strikes stay, so a repeat escalates); 1 if it was blocked. */
export const PUMP_LIFT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
redis.call('HDEL', KEYS[1], 'until')
if untilMs > now then return 1 end
return 0
`;

/** KEYS[1]: the prefix's hash. ARGV: field (`safe` or `safe:<number>`), 1 to add or 0 to remove, ms to keep it. */
export const PUMP_SAFE_LUA = `
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], 1)
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
`;
