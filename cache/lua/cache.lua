-- The shared layer of the answer cache. Every key shares the {cache} hash
-- tag of its prefix: one slot, so a Redis Cluster runs it too.
-- KEYS[1]: the index, a sorted set of entry names scored by height.
-- ARGV[1]: the command; ARGV[2]: the entries' key prefix.
--
-- "store" name height value ttl_ms max_entries: keep an entry; past
--   max_entries, the lowest heights go (the oldest blocks, read least).
-- "drop" height: remove every entry above height (a rollback); answers how
--   many.
local index, prefix = KEYS[1], ARGV[2]
if ARGV[1] == "store" then
  local name, height, value, ttl, limit = ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
  redis.call("SET", prefix .. name, value, "PX", ttl)
  redis.call("ZADD", index, height, name)
  redis.call("PEXPIRE", index, ttl)
  local n = redis.call("ZCARD", index)
  if n > limit then
    local out = redis.call("ZPOPMIN", index, n - limit)
    for i = 1, #out, 2 do
      redis.call("DEL", prefix .. out[i])
    end
  end
  return 0
end
if ARGV[1] == "drop" then
  local above = "(" .. ARGV[3]
  local names = redis.call("ZRANGEBYSCORE", index, above, "+inf")
  for _, name in ipairs(names) do
    redis.call("DEL", prefix .. name)
  end
  redis.call("ZREMRANGEBYSCORE", index, above, "+inf")
  return #names
end
return redis.error_reply("cache.lua: unknown command " .. tostring(ARGV[1]))
