-- Paced load, put between a scenario script and report.lua: with RATE set, requests leave on a
-- fixed schedule of RATE a second in all (slot n at start + n / RATE), so latency is measured at a
-- chosen rate instead of at saturation. A connection whose slot has passed sends at once; wrk's
-- delay is in whole ms, so a slot may leave up to half a ms early. Needs wrk -t1 (one schedule).
local rate = tonumber(os.getenv("RATE") or "0")
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } otp_bench_timespec;
    int clock_gettime(int clock, otp_bench_timespec *ts);
  ]])
  local ts = ffi.new("otp_bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local start, slot = nil, 0
  delay = function()
    local t = now_ms()
    start = start or t
    slot = slot + 1
    local wait = start + slot * 1000 / rate - t
    if wait <= 0 then return 0 end
    return math.floor(wait + 0.5)
  end
end
