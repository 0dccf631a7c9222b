-- wrk script for the write benchmarks: a POST whose JSON body differs every time.
-- WRK_TOPIC set: a Parlor reply to that topic; unset: a row for the baseline.
-- WRK_RUN tells runs apart; headers (cookie, CSRF token) come from wrk's -H flags.

local topic = os.getenv("WRK_TOPIC")
local run = os.getenv("WRK_RUN") or "0"
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  local text = string.format(
    "Benchmark reply %d of run %s, with a few words so that it is long enough.", counter, run)
  local body
  if topic then
    body = string.format('{"topic_id": %s, "raw": "%s"}', topic, text)
  else
    body = string.format('{"body": "%s"}', text)
  end
  return wrk.format(nil, nil, nil, body)
end
