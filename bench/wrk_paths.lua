-- wrk script: GET a random path from the file named by BENCH_PATHS; print figures as JSON.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  paths[#paths + 1] = line
end
math.randomseed(tonumber(os.getenv("BENCH_SEED") or "1"))
local headers = { ["Accept"] = "application/fhir+json" }
if os.getenv("BENCH_AUTHORIZATION") then
  headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, '
      .. '"socket_errors": %d, "status_errors": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
