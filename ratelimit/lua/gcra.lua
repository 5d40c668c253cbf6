-- GCRA check of one caller, timed by the server's clock so that every
-- gateway instance meters alike.
-- KEYS[1]: the caller's state, the theoretical arrival time (TAT) in
-- microseconds. ARGV: emission interval (microseconds), burst (units),
-- cost (units).
-- Returns {allowed (0|1), remaining units, retry after (us), reset after (us)}.
local interval = tonumber(ARGV[1])
local burst_offset = interval * tonumber(ARGV[2])
local increment = interval * tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local new_tat = tat + increment
local diff = now - (new_tat - burst_offset)
if diff < 0 then
  return {0, math.floor((burst_offset - (tat - now)) / interval), -diff, tat - now}
end
local ttl = new_tat - now
-- %.0f: Lua would print the microsecond count in exponent form.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.max(1, math.ceil(ttl / 1000)))
return {1, math.floor(diff / interval), 0, ttl}
