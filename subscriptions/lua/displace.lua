-- Takes a topic's lease from its holder, for the standby that has evidence
-- the holder stopped appending (see topic.watch): the holder's next append
-- fails with NOTOWNER, as after an expired lease. Gives up the standby
-- claim, as taking a free lease does.
-- KEYS[1] lease, KEYS[2] standby; ARGV: instance, TTL ms
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 2
