-- Every check before a send, in one atomic step, all or nothing: the Idempotency-Key's claim, the
-- phone's send windows, its block's pumping check (then its range's) and the send budgets. On one
-- Redis the budgets come along; on a Cluster they live on slots of their own and are checked
-- beside this step (the phone's keys, its block's and its range's share one hash tag).
--
--   A key claimed before: nothing else is asked (its state is the answer).
--   The windows refuse: nothing else is asked.
--   A safe-listed block asks no range; a block blocked now takes the counts it was judged on out
--   of its range.
--   The block or its range is blocked and the guard enforces: the budgets are not asked and
--   nothing stays counted.
--   The member was recorded before (a retried send): the budgets are not asked, nothing counted.
--   A budget refuses: nothing is recorded, the prefix's counts are taken back.
--   Otherwise all is recorded, and a free key is claimed for the phone.
--
-- Input:
--   KEYS[1] eventsKey     the phone's send events
--   KEYS[2] blockKey      the block's pump hash (eventsKey again when the guard is off)
--   KEYS[3] rangeKey      the range's pump hash, when ARGV[6] is not empty
--   KEYS[..] budgetKeys   the budgets' hashes, one per ARGV[8..]
--   KEYS[#] claimKey      last, the Idempotency-Key's claim, when ARGV[7] is not empty
--   ARGV[1] member        the send's event id
--   ARGV[2] windows       the phone's send windows, comma-joined (see lib/window.lua)
--   ARGV[3] mode          'off', 'monitor' or 'enforce'
--   ARGV[4] number        the phone (for the safe list and the key's claim)
--   ARGV[5] blockPolicy   pump_check's policy for the block, comma-joined ('' with the guard off)
--   ARGV[6] rangePolicy   the same for the range ('' when there is none)
--   ARGV[7] pendingMs     how long a pending claim lives ('' without a key)
--   ARGV[8..] budgets     each budget's windows, comma-joined (see lib/budget.lua)
-- Output: {allowed, index, remaining, waitMs, nextMs, recorded, pumpState, pumpRemainingMs,
--   pumpStrikes, pumpBucket, budgetsAsked, rangeVerdict, claimState, claimAnswer, budgets...}
--   the window decision as window_decide gives it and 1 when the send was recorded; the pumping
--   verdict as pump_check gives it (state -1: not asked); how many budgets were asked; 1 when the
--   verdict is the range's; the claim's state ('' without a key or when nothing went ahead, 'new'
--   when claimed now, else as idem_read) and answer; then each budget's decision as budget_check
--   gives it (five values and its use per window).
local member, windows, mode, number = ARGV[1], list(ARGV[2]), ARGV[3], ARGV[4]
local blockPolicy, rangePolicy, pendingMs = list(ARGV[5]), list(ARGV[6]), ARGV[7]
local hasRange = #rangePolicy > 0
local eventsKey, blockKey = KEYS[1], KEYS[2]
local rangeKey = hasRange and KEYS[3] or nil
local firstBudget = hasRange and 4 or 3
local lastBudget, claimKey = #KEYS, nil
if pendingMs ~= '' then claimKey, lastBudget = KEYS[#KEYS], #KEYS - 1 end
local budgets = {}
for k = firstBudget, lastBudget do
  budgets[#budgets + 1] = {key = KEYS[k], windows = list(ARGV[8 + k - firstBudget])}
end

-- Positions in the reply: src/adapters/store/redis/replies.ts reads it by the same names.
local ALLOWED, RECORDED, PUMP_STATE, PUMP_REMAINING_MS, PUMP_STRIKES, PUMP_BUCKET = 1, 6, 7, 8, 9, 10
local BUDGETS_ASKED, RANGE_VERDICT, CLAIM_STATE, CLAIM_ANSWER = 11, 12, 13, 14
local function reply(decision)
  return {decision[1], decision[2], decision[3], decision[4], decision[5], 0, -1, 0, 0, -1, 0, 0, '', ''}
end

if claimKey then
  local state, answer = idem_read(claimKey, number)
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

local now, longest, retried, decision = window_decide(eventsKey, member, windows)
local out = reply(decision)
if decision[ALLOWED] == 0 then return out end

-- The pumping check: the block's verdict, then (unless safe-listed or refused) the range's.
local verdict, counted = {-1, 0, 0, -1}, {}
if mode ~= 'off' then
  verdict = pump_check(blockKey, number, blockPolicy, now, not retried)
  local bucket = verdict[4] or -1
  if bucket >= 0 then counted[1] = blockKey end
  if verdict[1] == 2 and hasRange then pump_forget(rangeKey, verdict[5]) end
  if verdict[1] == 0 and hasRange and bucket ~= -2 then
    local wide = pump_check(rangeKey, number, rangePolicy, now, not retried)
    if wide[1] > 0 then
      -- The range is blocked: as for a blocked block, the check keeps no count (monitor mode
      -- counts what goes out).
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
if verdict[1] > 0 and mode == 'enforce' then return out end

-- The send goes ahead (unless a budget refuses, below): the key is its own from now on.
local function claim()
  if not claimKey then return end
  idem_claim(claimKey, number, pendingMs)
  out[CLAIM_STATE] = 'new'
end
if retried then
  claim()
  return out
end

local decisions, refused = {}, false
for i, budget in ipairs(budgets) do
  decisions[i] = budget_check(budget.key, budget.windows, now)
  if decisions[i][1] == 0 then refused = true end
end
out[BUDGETS_ASKED] = #decisions
if refused then
  for _, pumpKey in ipairs(counted) do uncount(pumpKey, out[PUMP_BUCKET]) end
  out[PUMP_BUCKET] = -1
else
  for i, budget in ipairs(budgets) do budget_record(budget.key, budget.windows, now, decisions[i]) end
  window_record(eventsKey, member, now, longest)
  out[RECORDED] = 1
  claim()
end
for _, budgetDecision in ipairs(decisions) do
  for _, value in ipairs(budgetDecision) do out[#out + 1] = value end
end
return out
