/**
 * Lua scripts the Redis adapter runs with `EVAL` (always the full text, never `EVALSHA`: Redis
 * caches the compiled script anyway, and a `NOSCRIPT` retry after a Redis restart could
 * reorder a publish behind later ones).
 *
 * Presence lives in three keys: `<prefix>:instances`, a sorted set of instance ids scored by the
 * Redis server time (ms) of their last refresh, `<prefix>:online`, a hash of instance id to
 * its connected clients, and `<prefix>:layout`, a hash of instance id to how it names channels
 * and keys (instances that disagree cannot exchange messages). Redis's own clock is used so that clock skew between hosts cannot
 * make a live instance look dead or a dead one live.
 */

/** ARGV[1] = payload, ARGV[2..n] = channels. One command, the payload crosses the wire once. */
export const MULTI_PUBLISH = `
local payload = ARGV[1]
for i = 2, #ARGV do
  redis.call('PUBLISH', ARGV[i], payload)
end
return #ARGV - 1
`;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[1])
`;

const LIVE_VIEW = `
local live = redis.call('ZRANGEBYSCORE', KEYS[1], cutoff, '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  local count = redis.call('HGET', KEYS[2], live[i])
  local layout = redis.call('HGET', KEYS[3], live[i])
  out[#out + 1] = live[i]
  out[#out + 1] = live[i + 1]
  out[#out + 1] = count or '0'
  out[#out + 1] = layout or ''
end
return out
`;

/**
 * Refreshes this instance, prunes the dead, returns the live view.
 * KEYS: instances zset, online hash, layout hash. ARGV: timeoutMs, id, online, ttlMs, layout.
 * Returns a flat list `id, lastSeenMs, online, layout, ...` of live instances.
 */
export const PRESENCE_REFRESH =
  NOW +
  `
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
for i = 1, #dead do
  redis.call('HDEL', KEYS[2], dead[i])
  redis.call('HDEL', KEYS[3], dead[i])
end
if #dead > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
` +
  LIVE_VIEW;

/** The live view only. KEYS: instances zset, online hash, layout hash. ARGV: timeoutMs. */
export const QUERY = NOW + LIVE_VIEW;

/** Leaves presence at once. KEYS: instances zset, online hash, layout hash. ARGV: id. */
export const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
`;

/** Error replies meaning this Redis will never run `MULTI_PUBLISH` (ACL, renamed command, no scripting). */
export const EVAL_REFUSED =
  /^(NOPERM|ERR unknown command|ERR Error compiling)|not allowed|disabled/i;
