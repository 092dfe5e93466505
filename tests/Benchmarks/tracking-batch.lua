-- wrk script for the tracking scenario (TrackingBatchScenario.cs): every request is a /v1/batch of
-- 100 track events with message ids no request has used before, so each is accepted rather than a
-- duplicate. The write key comes as Basic auth in the environment (JOURNEY_BENCH_AUTHORIZATION); the
-- run's id (distinct per wrk run) follows "--" on the command line. done() prints what the scenario
-- reads: accepted events (summed from the answers' "accepted"), requests, non-2xx answers and
-- socket errors, and the latency percentiles of a batch in microseconds.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  table.insert(threads, thread)
  next_id = next_id + 1
end

local run = "run"
local counter = 0
accepted = 0
failed = 0

function init(args)
  run = args[1] or run
  wrk.method = "POST"
  wrk.path = "/v1/batch"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = os.getenv("JOURNEY_BENCH_AUTHORIZATION")
end

function request()
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local events = {}
  for i = 1, 100 do
    counter = counter + 1
    events[i] = string.format(
      '{"type":"track","event":"Product Viewed","messageId":"%s-%d-%d","anonymousId":"bench-visitor-%d","timestamp":"%s","properties":{"sku":"sku-%d"}}',
      run, id, counter, counter % 10000, at, i)
  end
  return wrk.format(nil, nil, nil, '{"batch":[' .. table.concat(events, ",") .. ']}')
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
    return
  end
  local n = body:match('"accepted":(%d+)')
  if n then
    accepted = accepted + tonumber(n)
  end
end

function done(summary, latency, requests)
  local total, refused = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("accepted")
    refused = refused + thread:get("failed")
  end
  local errors = summary.errors
  io.write(string.format("journey accepted=%d requests=%d refused=%d socket_errors=%d duration_us=%d p50_us=%d p99_us=%d\n",
    total, summary.requests, refused, errors.connect + errors.read + errors.write + errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
