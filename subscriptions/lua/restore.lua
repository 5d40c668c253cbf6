-- Puts back events a log lost (Redis restarted without them), with their
-- IDs: those after the log's last entry, when the log is empty or its last
-- entry is of their epoch. For the holder of the lease only. Returns the
-- log's last entry's ID and epoch then ({} for an empty log).
-- KEYS[1] lease, KEYS[2] log
-- ARGV: instance, max length, log TTL ms, channel, topic, epoch, then four
-- per event: ID, type, data, final
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('NOTOWNER')
end
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function epochOf(entry)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'e' then
      return fields[i + 1]
    end
  end
  return '0'
end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local lms, lseq, lastID, lastEpoch = -1, -1, nil, ARGV[6]
if #last > 0 then
  lastID, lastEpoch = last[1][1], epochOf(last[1])
  lms, lseq = parse(lastID)
end
if lastEpoch ~= ARGV[6] then
  return {lastID, lastEpoch}
end
local added = 0
for i = 7, #ARGV, 4 do
  local ms, seq = parse(ARGV[i])
  if ms > lms or (ms == lms and seq > lseq) then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], ARGV[i], 't', ARGV[i + 1], 'd', ARGV[i + 2], 'f', ARGV[i + 3], 'e', ARGV[6])
    lms, lseq, lastID = ms, seq, ARGV[i]
    added = added + 1
  end
end
if added > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
if not lastID then
  return {}
end
return {lastID, lastEpoch}
