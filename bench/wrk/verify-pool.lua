-- POST /v1/otp/verify with a wrong code, cycling through request ids issued before the run
-- (read from the file named by IDS_FILE), so each hits the store and the upstream.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #ids + 1
  return wrk.format(nil, "/v1/otp/verify", nil, '{"verificationId":"' .. ids[i] .. '","code":"000000"}')
end
