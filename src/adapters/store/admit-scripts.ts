import { BUDGET_FN } from "./budget-scripts";
import { PUMP_FN } from "./pumping-scripts";
import { WINDOW_FN } from "./redis-scripts";

/**
 * Every check before a send in one atomic step, all or nothing: the phone's
 * windows, its prefix's pumping check and the send budgets. On one Redis the
 * budgets come along; on a Cluster they live on slots of their own and are
 * checked beside it (KEYS[1] and KEYS[2] share the prefix's hash tag).
 * KEYS[1]: the phone's send events; KEYS[2]: the prefix's hash (KEYS[1] again
 * when the guard is off); KEYS[3..]: the budgets' hashes.
 * ARGV: member; n, then n window arguments (limit and window ms of each);
 * the mode (`off`, `monitor`, `enforce`); m, then m of PUMP_CHECK's arguments
 * (number, window ms, …); then per budget k, its count and BUDGET_FN's arguments.
 * The windows refuse: nothing else is asked. The prefix is blocked and enforced:
 * the budgets are not asked. The member was recorded before (a retried send): the
 * budgets are not asked and nothing is counted. A budget refuses: nothing is
 * recorded, the prefix's count taken back. Otherwise all is recorded.
 * Returns the window's six numbers (as HIT), the pumping verdict's four (state,
 * remaining ms, strikes, counted bucket or -1; the state -1 when not asked), the
 * number of budgets asked, and each one's reply (five values and its use per window).
 */
export const ADMIT_LUA = `${WINDOW_FN}${PUMP_FN}${BUDGET_FN}
local at = 1
local function take(count)
  local out = {}
  for i = at, at + count - 1 do out[#out + 1] = ARGV[i] end
  at = at + count
  return out
end
local member = take(1)[1]
local w = take(tonumber(take(1)[1]))
local mode = take(1)[1]
local pa = take(tonumber(take(1)[1]))
local budgets = {}
for k = 3, #KEYS do budgets[#budgets + 1] = take(tonumber(take(1)[1])) end
local now, longest, counted, r = window_decide(KEYS[1], member, w)
if r[1] == 0 then return {r[1], r[2], r[3], r[4], r[5], 0, -1, 0, 0, -1, 0} end
local p = {-1, 0, 0, -1}
if mode ~= 'off' then p = pump_check(KEYS[2], pa, now, not counted) end
local out = {r[1], r[2], r[3], r[4], r[5], 0, p[1], p[2] or 0, p[3] or 0, p[4] or -1, 0}
if counted or (p[1] > 0 and mode == 'enforce') then return out end
local replies, refused = {}, false
for k, a in ipairs(budgets) do
  replies[k] = budget_check(KEYS[2 + k], a, now)
  if replies[k][1] == 0 then refused = true end
end
out[11] = #budgets
if refused then
  if p[4] and p[4] >= 0 then redis.call('HINCRBY', KEYS[2], 's:' .. p[4], -1); out[10] = -1 end
else
  for k, a in ipairs(budgets) do budget_record(KEYS[2 + k], a, now, replies[k]) end
  window_record(KEYS[1], member, now, longest)
  out[6] = 1
end
for _, res in ipairs(replies) do
  for _, v in ipairs(res) do out[#out + 1] = v end
end
return out
`;
