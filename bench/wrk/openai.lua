-- wrk: POST the body in $BENCH_BODY; count a reply as complete only when it is a 200 with a
-- finish_reason (and, for a stream, the final [DONE]); print one JSON line at the end.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local stream = os.getenv("BENCH_STREAM") == "1"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  complete = 0
  incomplete = 0
end

function response(status, headers, body)
  local finished = status == 200 and string.find(body, '"finish_reason":%s*"length"') ~= nil
  if finished and (not stream or string.find(body, "data: [DONE]", 1, true)) then
    complete = complete + 1
  else
    incomplete = incomplete + 1
  end
end

function done(summary, latency, requests)
  local c, i = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("complete")
    i = i + t:get("incomplete")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"complete":%d,"incomplete":%d,"errors":%d,"seconds":%f,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d}\n',
    c, i, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
