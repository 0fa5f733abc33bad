-- One send budget on its own: a Cluster's budgets (their slots are not the phone's), and the
-- operator's look at a budget's use.
--
-- Input:
--   KEYS[1] budgetKey   the budget's hash (see lib/budget.lua)
--   ARGV[1] record      1 to count an allowed send, 0 to only look
--   ARGV[2] proven      1 when the send may use the whole limit, 0 for the open limit only
--   ARGV[3] windows     limit, open limit, window ms and bucket ms of each window, comma-joined
-- Output: {allowed, index, remaining, waitMs, receipt, used...} as budget_check gives it.
local budgetKey = KEYS[1]
local record, proven, windows = ARGV[1], ARGV[2], list(ARGV[3])

local now = now_ms()
local decision = budget_check(budgetKey, windows, now, proven == '1')
if record == '1' and decision[1] == 1 then budget_record(budgetKey, windows, now, decision) end
return decision
