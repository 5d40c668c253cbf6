-- Gives up the lease and the standby claim of a topic this instance holds.
-- KEYS[1] lease, KEYS[2] standby; ARGV: instance
for i = 1, 2 do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
return 0
