-- POST /v1/otp/send, a different valid Indian mobile each request. PHONE_BASE (set by the
-- harness, random per scenario) keeps scenarios of one run from reusing each other's numbers.
local base = tonumber(os.getenv("PHONE_BASE") or "0")
local counter = 0
request = function()
  counter = counter + 1
  local phone = string.format("+9198%08d", (base + counter * 8 + (thread_id or 0)) % 100000000)
  return wrk.format("POST", "/v1/otp/send", { ["Content-Type"] = "application/json" }, '{"phone":"' .. phone .. '"}')
end
