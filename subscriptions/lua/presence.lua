-- Records whether this instance has readers of a topic and counts the
-- instances that have, forgetting those whose heartbeat expired.
-- KEYS[1] members; ARGV: instance, now ms, expiry ms (0: absent), TTL ms
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if ARGV[3] ~= '0' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
