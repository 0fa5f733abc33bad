-- now_ms(): the time in ms from Redis's own clock (TIME), so that every gateway process, and a
-- replica promoted after a failover, agrees on "now".
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
