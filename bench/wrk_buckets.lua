-- bench.service_latency: count 200 / other responses per wall-clock second (os.time), so the warm-up seconds can
-- be dropped from one wrk run (a second wrk run right after a first one that ended with requests in flight can find
-- a FastAPI + SQLAlchemy server wedged on its connection pool; one run avoids that).
counts = {}
bad = 0

function response(status, headers, body)
  local t = os.time()
  counts[t] = (counts[t] or 0) + 1
  if status ~= 200 then bad = bad + 1 end
end

threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for t, n in pairs(c) do
      io.write(string.format("bucket %d %d\n", t, n))
    end
    io.write(string.format("bad %d\n", thread:get("bad")))
  end
end
