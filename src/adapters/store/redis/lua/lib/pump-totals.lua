-- Running totals of a pump hash (see lib/pump.lua), so that a send to a busy prefix (one with
-- PUMP_TOTALS_FROM count fields or more) reads a few fields, not its buckets. The fields:
--   J  the judged sends: every `S:` bucket from `o` on, and the `s:` buckets up to `m`
--   C  the verified sends: every `v:` and `V:` bucket
--   m  the last fine bucket judged (its codes have expired)
--   f  the oldest fine bucket not yet folded
--   o  the oldest coarse bucket the window sees
--   g  the window, bucket and maturity ms the totals were counted for
-- A smaller hash keeps none and is read whole. Mirrors `tally` in src/domain/pumping.ts.
--
-- pump_recount(key, ...) counts a hash afresh, pump_advance(key, ...) brings its totals up to
-- now reading only the buckets that matured, fold or leave, and pump_total_delta(field, n, m)
-- says which total a bucket's change moves.
local PUMP_TOTALS_FROM = 16

local function pump_sum(key, fields)
  local sum = 0
  if #fields == 0 then return sum end
  for _, value in ipairs(redis.call('HMGET', key, unpack(fields))) do sum = sum + (tonumber(value) or 0) end
  return sum
end

-- The totals from the buckets, folding and dropping as `tally` does (totals not written), about
-- how many count fields the hash keeps, and whether it was empty.
local function pump_recount(key, bucketMs, coarseMs, firstFine, firstCoarse, lastJudged)
  local judged, converted, gone, folds, countFields = 0, 0, {}, {}, 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local field = fields[i]
    local kind, bucket = string.match(field, '^([svSV]):(%d+)$')
    if kind then
      bucket = tonumber(bucket)
      local count = tonumber(fields[i + 1])
      countFields = countFields + 1
      if kind == 's' or kind == 'v' then
        if bucket < firstFine then
          -- Older than one coarse bucket: folded into its coarse bucket (or dropped past the window).
          gone[#gone + 1] = field
          local coarse = math.floor(bucket * bucketMs / coarseMs)
          if coarse >= firstCoarse then
            local into = string.upper(kind) .. ':' .. coarse
            folds[into] = (folds[into] or 0) + count
            if kind == 's' then judged = judged + count else converted = converted + count end
          end
        elseif kind == 's' then
          if bucket <= lastJudged then judged = judged + count end
        else
          converted = converted + count
        end
      elseif bucket < firstCoarse then
        gone[#gone + 1] = field
      elseif kind == 'S' then
        judged = judged + count
      else
        converted = converted + count
      end
    end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  for field, count in pairs(folds) do redis.call('HINCRBY', key, field, count) end
  return judged, converted, countFields - #gone, #fields == 0
end

-- The totals brought up to now: matured fine sends join J, fine buckets older than one coarse
-- bucket fold into it, coarse buckets the window no longer sees leave J and C.
local function pump_advance(key, bucketMs, coarseMs, totals, firstFine, firstCoarse, lastJudged)
  local judged, converted = totals[1], totals[2]
  local lastMatured, oldestFine, oldestCoarse = totals[3], totals[4], totals[5]
  if lastMatured < lastJudged then
    local names = {}
    for j = lastMatured + 1, lastJudged do names[#names + 1] = 's:' .. j end
    judged = judged + pump_sum(key, names)
    lastMatured = lastJudged
  end
  if oldestFine < firstFine then
    local names, folds = {}, {}
    for j = oldestFine, firstFine - 1 do
      names[#names + 1] = 's:' .. j
      names[#names + 1] = 'v:' .. j
    end
    local values = redis.call('HMGET', key, unpack(names))
    for i, name in ipairs(names) do
      local count = tonumber(values[i]) or 0
      if count ~= 0 then
        local kind, bucket = string.sub(name, 1, 1), tonumber(string.sub(name, 3))
        local coarse = math.floor(bucket * bucketMs / coarseMs)
        local live = coarse >= firstCoarse
        if kind == 's' then
          -- J holds a fine send once it matured (up to m): one that folds unmatured joins, one
          -- dropped leaves.
          if live and bucket > lastMatured then
            judged = judged + count
          elseif not live and bucket <= lastMatured then
            judged = judged - count
          end
        elseif not live then
          converted = converted - count
        end
        if live then
          local into = string.upper(kind) .. ':' .. coarse
          folds[into] = (folds[into] or 0) + count
        end
      end
    end
    redis.call('HDEL', key, unpack(names))
    for field, count in pairs(folds) do redis.call('HINCRBY', key, field, count) end
    oldestFine = firstFine
  end
  if oldestCoarse < firstCoarse then
    local sends, verifies, names = {}, {}, {}
    for k = oldestCoarse, firstCoarse - 1 do
      sends[#sends + 1] = 'S:' .. k
      verifies[#verifies + 1] = 'V:' .. k
      names[#names + 1] = 'S:' .. k
      names[#names + 1] = 'V:' .. k
    end
    judged = judged - pump_sum(key, sends)
    converted = converted - pump_sum(key, verifies)
    redis.call('HDEL', key, unpack(names))
    oldestCoarse = firstCoarse
  end
  return judged, converted, lastMatured, oldestFine, oldestCoarse
end

-- The totals' change for `count` taken from (or given to) one bucket field of a hash with totals:
-- a matured fine send or a coarse one is in J, a verify in C. lastMatured: the hash's m (nil: no totals).
local function pump_total_delta(field, count, lastMatured)
  if not lastMatured then return nil, 0 end
  local kind, bucket = string.match(field, '^([svSV]):(%d+)$')
  if kind == 'S' or (kind == 's' and tonumber(bucket) <= lastMatured) then return 'J', count end
  if kind == 'v' or kind == 'V' then return 'C', count end
  return nil, 0
end
