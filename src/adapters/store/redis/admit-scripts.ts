import { BUDGET_FN } from "./budget-scripts";
import { IDEM_FN } from "./idempotency-scripts";
import { PUMP_FN } from "./pumping-scripts";
import { LIST_FN, WINDOW_FN } from "./scripts";

/**
 * Every check before a send in one atomic step, all or nothing: the
 * Idempotency-Key's claim, the phone's windows, its prefix's pumping check (the
 * block's, then its range's) and the send budgets. On one Redis the budgets come along; on a Cluster they live on
 * slots of their own and are checked beside it (the phone's keys, its block's
 * and its range's share one hash tag).
 * KEYS[1]: the phone's send events; KEYS[2]: the block's hash (KEYS[1] again
 * when the guard is off); then the range's hash when ARGV says there is one;
 * then the budgets' hashes; last, the key's claim when ARGV says there is one.
 * ARGV: member; the windows (limit and window ms of each); the mode (`off`,
 * `monitor`, `enforce`); the number; pump_check's arguments for the block
 * (window ms, …; empty with the guard off) and for the range (empty: none);
 * the ms a pending claim lives (empty: no key); then BUDGET_FN's arguments of
 * each budget. Each list is one argument, its
 * values joined by commas: a send's arguments cost the gateway by their count.
 * The windows refuse: nothing else is asked. A safe-listed block asks no range;
 * a block blocked now takes the counts it was judged on out of its range.
 * The block or its range is blocked and enforced: the budgets are not asked and
 * nothing stays counted. A key claimed before: nothing else is asked (its
 * state is the answer). A free key is claimed only when the send goes ahead.
 * The member was recorded before (a retried send): the
 * budgets are not asked and nothing is counted. A budget refuses: nothing is
 * recorded, the prefix's counts taken back. Otherwise all is recorded.
 * Returns the window's six numbers (as HIT), the pumping verdict's four (state,
 * remaining ms, strikes, counted bucket or -1; the state -1 when not asked), the
 * number of budgets asked, 1 if the verdict is the range's, the claim's state
 * ('' without a key or when nothing went ahead; 'new' when taken now; else as
 * CLAIM_IDEMPOTENCY) and its answer, then each budget's reply (five values and
 * its use per window).
 */
export const ADMIT_LUA = `${WINDOW_FN}${PUMP_FN}${BUDGET_FN}${LIST_FN}${IDEM_FN}
local member, w, mode, number = ARGV[1], list(ARGV[2]), ARGV[3], ARGV[4]
local pa, ra, pendingMs = list(ARGV[5]), list(ARGV[6]), ARGV[7]
local last, claim = #KEYS, nil
if pendingMs ~= '' then
  claim, last = KEYS[#KEYS], #KEYS - 1
  local state, answer = idem_read(claim, number)
  if state then return {1, 0, 0, 0, 0, 0, -1, 0, 0, -1, 0, 0, state, answer} end
end
-- Takes back this send's count; a hash that held only it is not kept: refused sends leave nothing behind.
local function uncount(key, bucket)
  if redis.call('HINCRBY', key, 's:' .. bucket, -1) == 0 and redis.call('HLEN', key) == 1 then redis.call('DEL', key) end
end
local first = 3
if #ra > 0 then first = 4 end
local budgets = {}
for k = first, last do budgets[#budgets + 1] = list(ARGV[8 + k - first]) end
local now, longest, counted, r = window_decide(KEYS[1], member, w)
if r[1] == 0 then return {r[1], r[2], r[3], r[4], r[5], 0, -1, 0, 0, -1, 0, 0, '', ''} end
local p, wide = {-1, 0, 0, -1}, 0
local pumped = {}
if mode ~= 'off' then
  p = pump_check(KEYS[2], number, pa, now, not counted)
  if (p[4] or -1) >= 0 then pumped[1] = KEYS[2] end
  if p[1] == 2 and #ra > 0 then pump_forget(KEYS[3], p[5]) end
  if p[1] == 0 and #ra > 0 and (p[4] or -1) ~= -2 then
    local q = pump_check(KEYS[3], number, ra, now, not counted)
    if q[1] > 0 then
      -- The range is blocked: as for a blocked block, the check keeps no count (monitor mode counts what goes out).
      if pumped[1] then uncount(KEYS[2], p[4]) end
      p, wide, pumped = {q[1], q[2], q[3], -1}, 1, {}
    elseif (q[4] or -1) >= 0 then
      pumped[#pumped + 1] = KEYS[3]
    end
  end
end
local out = {r[1], r[2], r[3], r[4], r[5], 0, p[1], p[2] or 0, p[3] or 0, p[4] or -1, 0, wide, '', ''}
if p[1] > 0 and mode == 'enforce' then return out end
-- The send goes ahead (unless a budget refuses, below): the key is its own from now on.
local function go()
  if claim then
    idem_claim(claim, number, pendingMs)
    out[13] = 'new'
  end
end
if counted then
  go()
  return out
end
local replies, refused = {}, false
for k, a in ipairs(budgets) do
  replies[k] = budget_check(KEYS[first - 1 + k], a, now)
  if replies[k][1] == 0 then refused = true end
end
out[11] = #budgets
if refused then
  for _, key in ipairs(pumped) do uncount(key, p[4]) end
  out[10] = -1
else
  for k, a in ipairs(budgets) do budget_record(KEYS[first - 1 + k], a, now, replies[k]) end
  window_record(KEYS[1], member, now, longest)
  out[6] = 1
  go()
end
for _, res in ipairs(replies) do
  for _, v in ipairs(res) do out[#out + 1] = v end
end
return out
`;
