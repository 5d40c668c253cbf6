-- Keeps the room of the answers the gateway stores (asynchronous and
-- idempotent calls) within bounds, per client and in all: a room is
-- reserved when the call starts and resized to the answer when it
-- finishes. Counting and checking are one step, so that instances racing
-- for the last room cannot both take it. Rooms expire by themselves (their
-- score), the expired ones leave the sums as the next call of the script
-- comes.
-- KEYS[1] all rooms (zset id -> expiry ms), KEYS[2] their bytes (hash id ->
-- bytes, and '#': the sum), KEYS[3] and KEYS[4] the same for one client.
-- ARGV reserve: "reserve", id, bytes, ttl ms, per-client count, per-client
-- bytes, total count, total bytes (0: no bound). Returns {0, 0}, or
-- {1 (the client's share) or 2 (the total), ms until a room expires}.
-- ARGV free: "free", id. Returns {0, 0}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function purge(zkey, hkey, limit)
  local ids = redis.call('ZRANGEBYSCORE', zkey, '-inf', now, 'LIMIT', 0, limit)
  local sum = 0
  for _, id in ipairs(ids) do
    sum = sum + tonumber(redis.call('HGET', hkey, id) or '0')
    redis.call('HDEL', hkey, id)
  end
  if #ids > 0 then
    redis.call('ZREM', zkey, unpack(ids))
    redis.call('HINCRBY', hkey, '#', -sum)
  end
end

local function drop(zkey, hkey, id)
  local b = redis.call('HGET', hkey, id)
  if b then
    redis.call('HDEL', hkey, id)
    redis.call('HINCRBY', hkey, '#', -tonumber(b))
  end
  redis.call('ZREM', zkey, id)
end

-- A bounded purge of the total per call; a client's rooms are at most its
-- bound.
purge(KEYS[1], KEYS[2], 1000)
purge(KEYS[3], KEYS[4], -1)

local id = ARGV[2]
if ARGV[1] == 'free' then
  drop(KEYS[1], KEYS[2], id)
  drop(KEYS[3], KEYS[4], id)
  return {0, 0}
end

local bytes = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local function over(zkey, hkey, maxCount, maxBytes)
  local had = redis.call('HGET', hkey, id)
  local grow = bytes - tonumber(had or '0')
  if maxCount > 0 and not had and redis.call('ZCOUNT', zkey, '(' .. now, '+inf') + 1 > maxCount then
    return true
  end
  return maxBytes > 0 and grow > 0 and tonumber(redis.call('HGET', hkey, '#') or '0') + grow > maxBytes
end
local function retry(zkey)
  local first = redis.call('ZRANGE', zkey, 0, 0, 'WITHSCORES')
  if #first == 0 then
    return 1000
  end
  return math.max(tonumber(first[2]) - now, 1000)
end
if over(KEYS[3], KEYS[4], tonumber(ARGV[5]), tonumber(ARGV[6])) then
  return {1, retry(KEYS[3])}
end
if over(KEYS[1], KEYS[2], tonumber(ARGV[7]), tonumber(ARGV[8])) then
  return {2, retry(KEYS[1])}
end
for _, k in ipairs({{KEYS[1], KEYS[2]}, {KEYS[3], KEYS[4]}}) do
  local had = tonumber(redis.call('HGET', k[2], id) or '0')
  redis.call('ZADD', k[1], now + ttl, id)
  redis.call('HSET', k[2], id, bytes)
  redis.call('HINCRBY', k[2], '#', bytes - had)
  -- The keys live as long as their latest room.
  for _, key in ipairs(k) do
    if redis.call('PTTL', key) < ttl then
      redis.call('PEXPIRE', key, ttl)
    end
  end
end
return {0, 0}
