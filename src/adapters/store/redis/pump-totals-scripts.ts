/**
 * Running totals of a pumping hash (src/adapters/store/pumping-scripts.ts), so
 * that a send to a busy prefix (PUMP_TOTALS_FROM count fields or more) reads a
 * few fields, not its buckets: `J` the judged sends (every `S:` bucket from `o`
 * on, and the `s:` buckets up to `m`), `C` the verified ones (every `v:` and
 * `V:` bucket), `f` the oldest fine bucket not yet folded, and `g` the window,
 * bucket and maturity ms they were counted for. A smaller hash keeps none and
 * is read whole. Lua functions for PUMP_FN: `pump_recount` counts a hash afresh
 * as `tally` in src/domain/pumping.ts does, `pump_advance` brings totals up to now
 * reading only the buckets that matured, fold or leave, and `pump_total_delta`
 * says which total a bucket's change moves.
 */
export const PUMP_TOTALS_FN = `
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

-- The totals' change for n taken from (or given to) one bucket field of a hash with totals: a
-- matured fine send or a coarse one is in J, a verify in C. m: the hash's m (nil: no totals).
local function pump_total_delta(field, n, m)
  if not m then return nil, 0 end
  local kind, j = string.match(field, '^([svSV]):(%d+)$')
  if kind == 'S' or (kind == 's' and tonumber(j) <= m) then return 'J', n end
  if kind == 'v' or kind == 'V' then return 'C', n end
  return nil, 0
end

`;
