-- Renews the lease or the standby claim of a topic this instance holds, and
-- takes what it wants if that is free: the lease (ARGV[3] "2"; or else the
-- standby claim), the standby claim only ("1"), or gives its standby claim
-- up ("0"). Taking the lease gives the standby claim up. Returns the role:
-- 2 holder, 1 standby, 0 neither.
-- A patient claim (ARGV[4] "1") takes a free lease only if the log exists:
-- when Redis lost it, the instances subscribed for longer restore it.
-- KEYS[1] lease, KEYS[2] standby, KEYS[3] log; ARGV: instance, TTL ms, role
-- wanted, patient
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 2
end
local waits = ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 0
if not holder and ARGV[3] == '2' and not waits then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  if redis.call('GET', KEYS[2]) == ARGV[1] then
    redis.call('DEL', KEYS[2])
  end
  return 2
end
local standby = redis.call('GET', KEYS[2])
if ARGV[3] ~= '0' and (standby == ARGV[1] or not standby) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return 1
end
if standby == ARGV[1] then
  redis.call('DEL', KEYS[2]) -- no longer wanted
end
return 0
