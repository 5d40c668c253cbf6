-- Appends one event to a topic's log: for the holder of its lease only, and
-- only where the holder believes the log ends (ARGV[9]: the last ID, "" for
-- an empty log). The ID is "<ms>-<seq>": seq follows the last entry's
-- without a gap, and ms is the Redis server's clock, never going back, so
-- IDs always increase (Redis Stream IDs must). Each entry carries its log's
-- epoch (field e): for a new log, the millisecond before its first event.
-- KEYS[1] lease, KEYS[2] log
-- ARGV: instance, max length, log TTL ms, type, data, final ("1"/"0"),
-- channel, topic, after
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('NOTOWNER')
end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local seq, epoch = 1, ms - 1
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local lastID = ''
if #last > 0 then
  lastID = last[1][1]
end
if lastID ~= ARGV[9] then
  return redis.error_reply('DIVERGED ' .. lastID)
end
if lastID ~= '' then
  local dash = string.find(lastID, '-', 1, true)
  local lms = tonumber(string.sub(lastID, 1, dash - 1))
  seq = tonumber(string.sub(lastID, dash + 1)) + 1
  if lms > ms then
    ms = lms
  end
  epoch = 0
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'e' then
      epoch = tonumber(fields[i + 1])
    end
  end
end
local id = string.format('%d-%d', ms, seq)
local e = string.format('%d', epoch)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id, 't', ARGV[4], 'd', ARGV[5], 'f', ARGV[6], 'e', e)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {id, e}
