-- wrk script for every benchmark scenario. Arguments after `--` are name=value pairs:
--   mode     get | list | create | create_idem | ingest | path | plain
--   key      API key (sent as a Bearer token when given)
--   secret   kiosk secret (ingest)
--   ids      file with one freelancer id per line (get, ingest)
--   tag      unique per wrk run: makes emails, idempotency keys and event ids unique
--   threads  wrk's -t, so request numbers are unique across threads
--   offset   first batch number (ingest), base  epoch seconds of batch 0 (ingest)
--   pages    list pages to rotate over (list), path  the path (plain)
--   prefix, suffix, method  (path) `method prefix..id..suffix` with an id from `ids`
--   once     1: each id at most once (path): ids offset+1, offset+2, … (an action such as
--            approve changes its object, so a second request on it would only be refused)
-- done() prints one line: JSON: {...} with the request count and latency percentiles.

local counter = 0
local opts = {}
local ids = {}

local started = 0
function setup(thread)
  thread:set("tid", started)
  started = started + 1
end

local function load_ids(path)
  local list = {}
  for line in io.lines(path) do
    if #line > 0 then list[#list + 1] = line end
  end
  return list
end

function init(args)
  for _, arg in ipairs(args) do
    local name, value = arg:match("^([%w_]+)=(.*)$")
    if name then opts[name] = value end
  end
  opts.threads = tonumber(opts.threads or "1")
  if opts.key and #opts.key > 0 then wrk.headers["Authorization"] = "Bearer " .. opts.key end
  if opts.secret then wrk.headers["X-Kiosk-Secret"] = opts.secret end
  wrk.headers["Content-Type"] = "application/json"
  if opts.ids then ids = load_ids(opts.ids) end
  if opts.debug == "1" then
    -- Tally statuses and show the first failure's body (only when asked: it costs Lua work).
    seen = {}
    function response(status, headers, body)
      if not seen[status] then
        seen[status] = true
        io.write(string.format("status %d: %s\n", status, body:sub(1, 300)))
      end
    end
  end
end

-- A number unique to this request among all threads of this run.
local function next_number()
  counter = counter + 1
  return counter * opts.threads + tid
end

local function create_body(n)
  return string.format(
    '{"email":"b-%s-%d@bench.example","first_name":"Bench","last_name":"User %d",'
      .. '"country":"DE","default_currency":"EUR"}', opts.tag, n, n)
end

local function stamp(epoch) return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch) end

-- 250 freelancers clock in and, five minutes later, out: 500 events. Batch b uses its own
-- six-minute window, so no two entries of a freelancer overlap.
local function ingest_body(n)
  local batch = tonumber(opts.offset or "0") + n
  local t0 = tonumber(opts.base) + batch * 360
  local first = (batch * 250) % #ids
  local parts = {}
  local event = '{"event_id":"%s-%d-%d-%s","freelancer_id":"%s","type":"%s","occurred_at":"%s"}'
  for j = 0, 249 do
    local freelancer = ids[(first + j) % #ids + 1]
    parts[#parts + 1] = string.format(event, opts.tag, n, j, "i", freelancer, "clock_in", stamp(t0))
    parts[#parts + 1] = string.format(event, opts.tag, n, j, "o", freelancer, "clock_out", stamp(t0 + 300))
  end
  return '{"events":[' .. table.concat(parts, ",") .. "]}"
end

function request()
  local n = next_number()
  local mode = opts.mode
  if mode == "get" then
    return wrk.format("GET", "/v1/freelancers/" .. ids[n % #ids + 1])
  elseif mode == "list" then
    local page = n % tonumber(opts.pages or "10") + 1
    return wrk.format("GET", "/v1/freelancers?page=" .. page .. "&page_size=50")
  elseif mode == "create" then
    return wrk.format("POST", "/v1/freelancers", nil, create_body(n))
  elseif mode == "create_idem" then
    -- wrk.format uses the headers given instead of wrk.headers, so copy those in.
    local headers = { ["Idempotency-Key"] = opts.tag .. "-" .. n }
    for name, value in pairs(wrk.headers) do headers[name] = value end
    return wrk.format("POST", "/v1/freelancers", headers, create_body(n))
  elseif mode == "ingest" then
    return wrk.format("POST", "/v1/clock-events/ingest", nil, ingest_body(n))
  elseif mode == "path" then
    local index = n % #ids + 1
    if opts.once == "1" then index = (tonumber(opts.offset or "0") + n - 1) % #ids + 1 end
    return wrk.format(opts.method or "GET", opts.prefix .. ids[index] .. (opts.suffix or ""))
  else
    return wrk.format("GET", opts.path or "/healthz")
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON: {"requests": %d, "duration_us": %d, "p50_us": %.1f, "p99_us": %.1f, "mean_us": %.1f, '
      .. '"http_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.status, e.connect + e.read + e.write + e.timeout))
end
