-- POST /v1/otp/send from a new client address each request (X-Forwarded-For, TRUST_PROXY=1),
-- with an empty body: every address opens a bucket, then validation refuses the body (400).
-- thread_id is set by threads.lua's setup.
local counter = 0
request = function()
  counter = counter + 1
  local n = counter * 8 + (thread_id or 0)
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("POST", "/v1/otp/send", { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip }, "{}")
end
