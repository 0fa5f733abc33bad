-- Mixed load for the soak: valid and invalid sends, limited and not, verifies, from a small
-- pool of about 260 000 client addresses (X-Forwarded-For, TRUST_PROXY=1): per-IP limits engage
-- now and then, and the LRU stays full.
-- Runs after threads.lua (bench/soak.ts prepends it).
init = function()
  math.randomseed(os.time() + (thread_id or 0) * 7919)
end
local bodies = {
  function() return "/v1/otp/send", string.format('{"phone":"+9198%08d"}', math.random(0, 99999999)) end, -- fresh phone
  function() return "/v1/otp/send", '{"phone":"+919876543210"}' end,                                       -- one phone: limited
  function() return "/v1/otp/send", '{"phone":"12345"}' end,                                               -- invalid
  function() return "/v1/otp/send", '{broken' end,                                                         -- malformed
  function() return "/v1/otp/verify", string.format('{"verificationId":"otp_%d","code":"123456"}', math.random(1, 1000)) end,
}
s2, s4, s429, s5, other = 0, 0, 0, 0, 0
request = function()
  local path, body = bodies[math.random(#bodies)]()
  local ip = string.format("10.%d.%d.%d", math.random(0, 3), math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", path, { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip }, body)
end
response = function(status)
  if status == 429 then s429 = s429 + 1
  elseif status >= 500 then s5 = s5 + 1
  elseif status >= 400 then s4 = s4 + 1
  elseif status >= 200 and status < 300 then s2 = s2 + 1
  else other = other + 1 end
end
done = function(summary)
  local t = { s2 = 0, s4 = 0, s429 = 0, s5 = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
  end
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('SOAK_JSON {"requests":%d,"ok_2xx":%d,"client_4xx":%d,"limited_429":%d,"server_5xx":%d,"other":%d,"socket_errors":%d}\n',
    summary.requests, t.s2, t.s4, t.s429, t.s5, t.other, socket))
end
