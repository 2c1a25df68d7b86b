"""The token bucket in Lua, for the scripts that take from buckets in Redis (API.md §6)."""

# A bucket is one string, "<tokens> <updated at>": reading and writing it are one call each.
TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local function take(name, rate, burst)
  local tokens, ts = burst, now
  local state = redis.call('GET', name)
  if state then
    local space = string.find(state, ' ', 1, true)
    tokens = tonumber(string.sub(state, 1, space - 1))
    ts = tonumber(string.sub(state, space + 1))
  end
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
  local allowed = 0
  if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
  local ttl = math.ceil(burst / rate * 1000) + 1000
  redis.call('SET', name, tostring(tokens) .. ' ' .. tostring(now), 'PX', ttl)
  return {allowed, tostring(tokens)}
end
"""
