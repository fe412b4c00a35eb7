-- wrk's script for the bench's throughput rounds (bench/wrk.ts): sends the requests of a file in turn,
-- one per line as METHOD<TAB>PATH<TAB>Header: value<TAB>..., each thread from its own place in the
-- list; at the end prints one JSON line (prefixed "wrk-json ") with the counts and latencies.
local requests = {}
local at = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
    local headers = {}
    for i = 3, #fields do
      local name, value = string.match(fields[i], "^([^:]+): (.*)$")
      headers[name] = value
    end
    requests[#requests + 1] = wrk.format(fields[1], fields[2], headers)
  end
  file:close()
  at = math.random(#requests) - 1
end

function request()
  at = at % #requests + 1
  return requests[at]
end

function done(summary, latency, _)
  local e = summary.errors
  local p = function(q) return latency:percentile(q) / 1000 end
  io.write(string.format(
    'wrk-json {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,"non2xx":%d,"p50":%.3f,"p97_5":%.3f,"p99":%.3f,"max":%.3f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status, p(50), p(97.5), p(99), latency.max / 1000))
end
