-- Appends one event to a topic's log, only for the holder of its lease.
-- The ID is "<ms>-<seq>": seq follows the last entry's without a gap, and ms
-- never goes back, so IDs always increase (Redis Stream IDs must).
-- KEYS[1] lease, KEYS[2] log
-- ARGV: instance, now ms, max length, log TTL ms, type, data, final ("1"/"0"), channel, topic
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('NOTOWNER')
end
local ms = tonumber(ARGV[2])
local seq = 1
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then
  local id = last[1][1]
  local dash = string.find(id, '-', 1, true)
  local lms = tonumber(string.sub(id, 1, dash - 1))
  seq = tonumber(string.sub(id, dash + 1)) + 1
  if lms > ms then ms = lms end
end
local id = string.format('%d-%d', ms, seq)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id, 't', ARGV[5], 'd', ARGV[6], 'f', ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[8], ARGV[9])
return id
