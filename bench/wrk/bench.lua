-- wrk script for bench/run. One file for every row, chosen by environment:
--   BENCH_CALL  get (default: GET of the URL's path) | explo | mintlify | canonical
--   BENCH_CHECK if set: print the first answer (status, body) and stop; used by the sanity checks
-- done() prints one machine-readable line that bench/run parses:
--   BENCH requests=N duration_us=N p50_us=N p99_us=N non2xx=N sock_errors=N

local seed = '{"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}}'
-- the same call already in the Customer API's canonical shape (what shimgate sends upstream)
local canonical = '{"customer_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}}'

local call = os.getenv("BENCH_CALL") or "get"

if call == "explo" then
  wrk.method = "POST"
  wrk.path = "/api/update_user_group/"
  wrk.body = seed
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Explo-Authorization"] = "Token demo-token"
elseif call == "mintlify" then
  wrk.method = "PUT"
  wrk.path = "/api/user"
  wrk.body = seed
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Token demo-token"
elseif call == "canonical" then
  wrk.method = "POST"
  wrk.path = "/api/update_customer/"
  wrk.body = canonical
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Token demo-token"
end

if os.getenv("BENCH_CHECK") then
  -- only defined in check mode: a response() callback makes wrk hand every body to Lua
  local seen = false
  function response(status, headers, body)
    if not seen then
      seen = true
      io.write(string.format("CHECK status=%d bytes=%d\n", status, #body))
      io.write("CHECK body=" .. body:gsub("\n", " ") .. "\n")
      io.flush()
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sock_errors=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50.0), latency:percentile(99.0),
    e.status, e.connect + e.read + e.write + e.timeout))
end
