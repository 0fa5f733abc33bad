-- Every check before a send, in one atomic step, all or nothing: the Idempotency-Key's claim, the
-- phone's send windows, whether the number is a returning user (proven), the pumping guard's checks
-- of its block then its range (blocked, then the bounds on unproven sends) and the send budgets. On
-- one Redis the budgets come along; on a Cluster they live on slots of their own and are checked
-- beside this step (the phone's keys, its block's and range's, and its proven bits share one tag).
--
--   A key claimed before: nothing else is asked (its state is the answer); a key released after
--   failed sends as often as it may be retried is 'spent'.
--   The windows refuse: nothing else is asked.
--   A proven number is never refused by the guard: not by a block, not by the bounds.
--   A safe-listed block asks no range and counts nowhere; a block blocked now takes the counts it
--   was judged on out of its range.
--   A rule of the guard refuses (in enforce mode): the budgets are not asked, nothing stays counted.
--   The member was recorded before (a retried send): nothing is counted again, but the budgets are
--   charged again once its first charge is older than the shortest window of the send's budgets.
--   A budget refuses (an unproven send past its open share, or any past its limit): nothing is
--   recorded, the guard's counts are taken back.
--   Otherwise all is recorded, the send is unproven in its block and range until its code is
--   verified, and a free key is claimed for the phone.
--
-- Input:
--   KEYS[1] eventsKey     the phone's send events
--   KEYS[2] blockKey      the block's pump hash (eventsKey again when the guard is off)
--   KEYS[..] rangeKey     the range's pump hash, when the shape (ARGV[1]) says there is one
--   KEYS[..] provenKeys   the block's proven bits, one key per generation (shape's count)
--   KEYS[..] budgetKeys   the budgets' hashes (shape's count)
--   KEYS[#] claimKey      last, the Idempotency-Key's claim, when the shape says there is one
--   ARGV[1] shape         how many keys of each kind follow the block's: range, proven, budgets, claim
--   ARGV[2] member        the send's event id
--   ARGV[3] windows       the phone's send windows, comma-joined (see lib/window.lua)
--   ARGV[4] mode          the guard's mode: 'off', 'monitor' or 'enforce'
--   ARGV[5] number        the phone (for the safe list and the key's claim)
--   ARGV[6] blockPolicy   pump_check's policy for the block, comma-joined ('' with the guard off)
--   ARGV[7] rangePolicy   the same for the range ('' when there is none)
--   ARGV[8] bounds        unproven sends a block and a range may hold, the window and its bucket ms,
--                         comma-joined ('' for no bounds)
--   ARGV[9] returning     the number's bit in its block, and ms a generation lives ('' for none)
--   ARGV[10] claim        how long a pending claim lives and the retries a key may have after
--                         failed sends, comma-joined ('' without a key)
--   ARGV[11] rechargeMs   the shortest window of the send's budgets ('' for none): a retry whose
--                         first charge is at least this old is charged again
--   ARGV[12..] budgets    each budget's windows, comma-joined (see lib/budget.lua)
-- Output: {allowed, index, remaining, waitMs, nextMs, recorded, pumpState, pumpRemainingMs,
--   pumpStrikes, pumpBucket, budgetsAsked, rangeVerdict, claimState, claimAnswer, proven, rule,
--   unprovenBucket, blockUnproven, rangeUnproven, recharged, budgets...}
--   the window decision as window_decide gives it and 1 when the send was recorded; the pumping
--   verdict as pump_check gives it (state -1: not asked); how many budgets were asked; 1 when the
--   verdict is the range's; the claim's state ('' without a key or when nothing went ahead, 'new'
--   when claimed now, 'spent' for a key out of retries, else as idem_read) and answer; 1 when the
--   number is proven; the guard's rule
--   that refused, or would have in monitor mode ('' for none; 'block-unproven', 'range-unproven');
--   the bucket the send is unproven in (-1: not counted); the unproven sends the block and the
--   range held before it; 1 when a retry is charged again (on a Cluster: is to be, beside); then
--   each budget's decision as budget_check gives it (five values and its use per window).
--   Sent as one string of the values joined by ';' (cheaper for the gateway to read than as many
--   replies), except a key's claim, whose stored answer may hold any character.
local shape = list(ARGV[1])
local member, windows, mode, number = ARGV[2], list(ARGV[3]), ARGV[4], ARGV[5]
local blockPolicy, rangePolicy, bounds = list(ARGV[6]), list(ARGV[7]), list(ARGV[8])
local returning, claimArgs, rechargeMs = list(ARGV[9]), list(ARGV[10]), tonumber(ARGV[11])
local pendingMs, retriesAllowed = claimArgs[1], tonumber(claimArgs[2])
local hasRange, provenCount, budgetCount = shape[1] == '1', tonumber(shape[2]), tonumber(shape[3])
local eventsKey, blockKey = KEYS[1], KEYS[2]
local at = 3
local rangeKey = nil
if hasRange then
  rangeKey = KEYS[at]
  at = at + 1
end
local provenKeys = {}
for k = at, at + provenCount - 1 do provenKeys[#provenKeys + 1] = KEYS[k] end
at = at + provenCount
local budgets = {}
for k = 1, budgetCount do budgets[k] = {key = KEYS[at + k - 1], windows = list(ARGV[11 + k])} end
local claimKey = nil
if shape[4] == '1' then claimKey = KEYS[#KEYS] end

-- Positions in the reply: src/adapters/store/redis/replies.ts reads it by the same names.
local ALLOWED, RECORDED, PUMP_STATE, PUMP_REMAINING_MS, PUMP_STRIKES, PUMP_BUCKET = 1, 6, 7, 8, 9, 10
local BUDGETS_ASKED, RANGE_VERDICT, CLAIM_STATE, CLAIM_ANSWER, PROVEN, RULE = 11, 12, 13, 14, 15, 16
local UNPROVEN_BUCKET, BLOCK_UNPROVEN, RANGE_UNPROVEN, RECHARGED = 17, 18, 19, 20
local function reply(decision)
  return {
    decision[1], decision[2], decision[3], decision[4], decision[5], 0, -1, 0, 0, -1, 0, 0, '', '',
    0, '', -1, 0, 0, 0,
  }
end
local function joined(values) return table.concat(values, ';') end

local retries = 0
if claimKey then
  local state, answer, released
  state, answer, retries, released = idem_read(claimKey, number)
  if released and retries >= retriesAllowed then state = 'spent' end
  if state then
    local out = reply({1, 0, 0, 0, 0})
    out[CLAIM_STATE], out[CLAIM_ANSWER] = state, answer
    return out
  end
end

-- Takes back this send's count; a hash that held only it is not kept: refused sends leave nothing.
local function uncount(pumpKey, bucket)
  if redis.call('HINCRBY', pumpKey, 's:' .. bucket, -1) == 0 and redis.call('HLEN', pumpKey) == 1 then
    redis.call('DEL', pumpKey)
  end
end

local now, longest, retried, decision, countedAt = window_decide(eventsKey, member, windows)
local out = reply(decision)
if decision[ALLOWED] == 0 then return joined(out) end
local proven = #returning > 0 and is_proven(provenKeys, tonumber(returning[1]))
if proven then out[PROVEN] = 1 end

-- The pumping check: the block's verdict, then (unless safe-listed or refused) the range's.
local verdict, counted, safe = {-1, 0, 0, -1}, {}, false
if mode ~= 'off' then
  verdict = pump_check(blockKey, number, blockPolicy, now, not retried)
  local bucket = verdict[4] or -1
  safe = bucket == -2
  if bucket >= 0 then counted[1] = blockKey end
  if verdict[1] == 2 and hasRange then pump_forget(rangeKey, verdict[5]) end
  if verdict[1] == 0 and hasRange and not safe then
    local wide = pump_check(rangeKey, number, rangePolicy, now, not retried)
    if wide[1] > 0 then
      -- The range is blocked: as for a blocked block, the check keeps no count.
      if counted[1] then uncount(blockKey, bucket) end
      verdict, counted = {wide[1], wide[2], wide[3], -1}, {}
      out[RANGE_VERDICT] = 1
    elseif (wide[4] or -1) >= 0 then
      counted[#counted + 1] = rangeKey
    end
  end
end
out[PUMP_STATE], out[PUMP_REMAINING_MS] = verdict[1], verdict[2] or 0
out[PUMP_STRIKES], out[PUMP_BUCKET] = verdict[3] or 0, verdict[4] or -1

-- The bounds on unproven sends: a block, then its range, holding as many as they may.
local bounded = mode ~= 'off' and #bounds > 0 and not proven and not safe
local blockHeld, rangeHeld = false, false
if bounded and verdict[1] == 0 then
  local boundsWindowMs, boundsBucketMs = tonumber(bounds[3]), tonumber(bounds[4])
  out[BLOCK_UNPROVEN], blockHeld = unproven_count(blockKey, boundsWindowMs, boundsBucketMs, now)
  if hasRange then
    out[RANGE_UNPROVEN], rangeHeld = unproven_count(rangeKey, boundsWindowMs, boundsBucketMs, now)
  end
  if out[BLOCK_UNPROVEN] >= tonumber(bounds[1]) then
    out[RULE] = 'block-unproven'
  elseif hasRange and out[RANGE_UNPROVEN] >= tonumber(bounds[2]) then
    out[RULE] = 'range-unproven'
  end
end

local function take_back_counts()
  for _, pumpKey in ipairs(counted) do uncount(pumpKey, out[PUMP_BUCKET]) end
  out[PUMP_BUCKET] = -1
end
local refused = mode == 'enforce' and not proven and (verdict[1] > 0 or out[RULE] ~= '')
if refused then
  take_back_counts()
  return joined(out)
end

-- The send goes ahead (unless a budget refuses, below): the key is its own from now on.
-- A retry's claim counts one more retry of the key.
local function claim()
  if not claimKey then return end
  idem_claim(claimKey, number, pendingMs, retried and retries + 1 or retries)
  out[CLAIM_STATE] = 'new'
end
-- A retry is charged again once its first charge is older than the budgets' shortest window (and
-- is then the send's charge: its event takes this time).
local recharge = retried and rechargeMs ~= nil and now - countedAt >= rechargeMs
if retried and not recharge then
  claim()
  return joined(out)
end
if recharge then out[RECHARGED] = 1 end

local decisions, overBudget = {}, false
for i, budget in ipairs(budgets) do
  decisions[i] = budget_check(budget.key, budget.windows, now, proven)
  if decisions[i][1] == 0 then overBudget = true end
end
out[BUDGETS_ASKED] = #decisions
if overBudget then
  take_back_counts()
  out[RECHARGED] = 0
elseif recharge then
  for i, budget in ipairs(budgets) do budget_record(budget.key, budget.windows, now, decisions[i]) end
  redis.call('ZADD', eventsKey, 'XX', now, member)
  claim()
else
  for i, budget in ipairs(budgets) do budget_record(budget.key, budget.windows, now, decisions[i]) end
  window_record(eventsKey, member, now, longest)
  out[RECORDED] = 1
  if bounded and verdict[1] == 0 then
    local boundsWindowMs, boundsBucketMs = tonumber(bounds[3]), tonumber(bounds[4])
    local keepMs = boundsWindowMs + boundsBucketMs
    -- A pump hash this step counted in lives its policy's keepMs less a bucket: long enough here
    -- when that is at least the bounds' keepMs (with the defaults, 25 h against 65 min).
    local function lives(key, policy)
      for _, countedKey in ipairs(counted) do
        if countedKey == key then return tonumber(policy[9]) - tonumber(policy[2]) >= keepMs end
      end
      return false
    end
    local blockLives = lives(blockKey, blockPolicy)
    out[UNPROVEN_BUCKET] = unproven_add(blockKey, boundsBucketMs, now, keepMs, blockHeld, blockLives)
    if hasRange then
      unproven_add(rangeKey, boundsBucketMs, now, keepMs, rangeHeld, lives(rangeKey, rangePolicy))
    end
  end
  claim()
end
for _, budgetDecision in ipairs(decisions) do
  for _, value in ipairs(budgetDecision) do out[#out + 1] = value end
end
return joined(out)
