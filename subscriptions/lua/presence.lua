-- Records whether this instance has readers of a topic (or had, within its
-- grace period: present) and whether it has some now (reading), and counts
-- the instances of each, forgetting those whose heartbeat expired.
-- KEYS[1] present, KEYS[2] reading; ARGV: instance, now ms, present expiry
-- ms (0: absent), TTL ms, reading expiry ms (0: not reading)
local counts = {}
for i, key in ipairs(KEYS) do
  local expiry = ARGV[i == 1 and 3 or 5]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
  if expiry ~= '0' then
    redis.call('ZADD', key, expiry, ARGV[1])
  else
    redis.call('ZREM', key, ARGV[1])
  end
  redis.call('PEXPIRE', key, ARGV[4])
  counts[i] = redis.call('ZCARD', key)
end
return counts
