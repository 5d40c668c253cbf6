-- Gives up a lease if this instance holds it.
-- KEYS[1] lease; ARGV: instance
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
