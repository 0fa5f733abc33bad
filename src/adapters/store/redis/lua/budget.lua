-- One send budget on its own: a Cluster's budgets (their slots are not the phone's), and the
-- operator's look at a budget's use.
--
-- Input:
--   KEYS[1] budgetKey   the budget's hash (see lib/budget.lua)
--   ARGV[1] record      1 to count an allowed send, 0 to only look
--   ARGV[2] windows     limit, window ms and bucket ms of each window, comma-joined
-- Output: {allowed, index, remaining, waitMs, receipt, used...} as budget_check gives it.
local budgetKey = KEYS[1]
local record, windows = ARGV[1], list(ARGV[2])

local now = now_ms()
local decision = budget_check(budgetKey, windows, now)
if record == '1' and decision[1] == 1 then budget_record(budgetKey, windows, now, decision) end
return decision
