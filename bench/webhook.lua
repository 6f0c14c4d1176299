-- wrk script for bench/pipeline.py: every request is a distinct, correctly signed delivery.
-- The file given as the first argument holds one "signature<TAB>body" line per delivery;
-- thread k of n sends lines k, k+n, k+2n, ... in order, so no two requests share a body.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(args[2])
  local f = assert(io.open(args[1], "rb"))
  requests = {}
  local i = 0
  for line in f:lines() do
    if i % n == id then
      local signature, body = line:match("^(%S+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/webhook", {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = signature,
      }, body)
    end
    i = i + 1
  end
  f:close()
  sent = 0
end

function request()
  sent = sent + 1
  if sent > #requests then
    -- Out of distinct bodies: repeat the last one (the runner makes enough; it reports it).
    return requests[#requests]
  end
  return requests[sent]
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("SENT %d %d\n", t:get("id"), t:get("sent")))
  end
  io.write(string.format("LAT %d %d %d\n", latency:percentile(50), latency:percentile(99), latency.max))
  io.write(string.format("DONE %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
