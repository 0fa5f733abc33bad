-- POST /v1/otp/send, a different valid Indian mobile each request (thread_id from report.lua).
math.randomseed(os.time() + os.clock() * 1e6)
local base = math.random(0, 89999999)
local counter = 0
request = function()
  counter = counter + 1
  local phone = string.format("+9198%08d", base + counter * 8 + (thread_id or 0))
  return wrk.format("POST", "/v1/otp/send", { ["Content-Type"] = "application/json" }, '{"phone":"' .. phone .. '"}')
end
