-- Extends a lease held by this instance. Returns 1 if held, 0 if not.
-- KEYS[1] lease; ARGV: instance, TTL ms
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
