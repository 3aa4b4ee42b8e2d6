-- tools/bench.d/api.lua -- wrk script of the API benchmark (tools/bench.d/api.sh).
-- Arguments: WHAT (list, case or records) and a file of lines "SESSION CASE": each
-- request takes a line at random: a navigator's session, and for case and records one
-- of that navigator's cases.
local what, lines = nil, {}

function init(args)
  what = args[1]
  for line in io.lines(args[2]) do
    local session, case = line:match("^(%S+) (%S+)$")
    if session then lines[#lines + 1] = {session, case} end
  end
  math.randomseed(os.time() + (wrk.thread and tonumber(tostring(wrk.thread):match("0x(%x+)") or "0", 16) or 0))
end

function request()
  local l = lines[math.random(#lines)]
  local path = "/api/v1/cases?limit=50"
  if what == "case" then
    path = "/api/v1/cases/" .. l[2]
  elseif what == "records" then
    path = "/api/v1/cases/" .. l[2] .. "/records"
  end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. l[1]})
end

-- done runs in wrk's main Lua state, which init never saw: api.sh adds the request kind
function done(summary, latency, requests)
  io.write(string.format("API %.1f %.2f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.requests))
end
