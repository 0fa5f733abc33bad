-- Appended to every scenario script (after threads.lua): counts answers other than
-- EXPECT_STATUS and prints the summary as one JSON line for the harness (bench/run.ts).

local expected = tonumber(os.getenv("EXPECT_STATUS") or "200")
unexpected = 0
s429 = 0
s4xx = 0
s5xx = 0
response = function(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
    if status == 429 then s429 = s429 + 1 elseif status >= 500 then s5xx = s5xx + 1 elseif status >= 400 then s4xx = s4xx + 1 end
  end
end

done = function(summary, latency, requests)
  local bad, b429, b4xx, b5xx = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("unexpected") or 0)
    b429 = b429 + (thread:get("s429") or 0)
    b4xx = b4xx + (thread:get("s4xx") or 0)
    b5xx = b5xx + (thread:get("s5xx") or 0)
  end
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('BENCH_JSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"socket_errors":%d,"unexpected_status":%d,"unexpected_429":%d,"unexpected_4xx":%d,"unexpected_5xx":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, socket, bad, b429, b4xx, b5xx))
end
