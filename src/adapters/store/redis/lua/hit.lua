-- One event against a subject's sliding windows: recorded only when every window allows.
--
-- Input:
--   KEYS[1] eventsKey   the subject's events (a sorted set, score = ms)
--   ARGV[1] member      the event's id (one already recorded passes, uncounted)
--   ARGV[2] windows     limit and window ms of each window, comma-joined
-- Output: {allowed, index, remaining, waitMs, nextMs, recorded}
--   the decision as window_decide gives it, and 1 when this call recorded the event.
local eventsKey = KEYS[1]
local member, windows = ARGV[1], list(ARGV[2])

local now, longest, counted, decision = window_decide(eventsKey, member, windows)
local recorded = 0
if decision[1] == 1 and not counted then
  window_record(eventsKey, member, now, longest)
  recorded = 1
end
return {decision[1], decision[2], decision[3], decision[4], decision[5], recorded}
