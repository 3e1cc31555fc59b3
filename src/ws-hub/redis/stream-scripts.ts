/**
 * Lua scripts of message recovery (see `stream-keys.ts` for the keys and the README's "Scaling
 * out with Redis" for the design). Like those of `scripts.ts`, always sent as `EVAL` with the
 * full text: a `NOSCRIPT` retry after a Redis restart could reorder a publish behind later ones.
 *
 * A stream is two keys sharing its channel's hash tag: `<channel>:m`, a hash with `e` (epoch)
 * and `s` (newest offset), and `<channel>:h`, a Redis Stream whose entry ids are `<offset>-0`,
 * fields `d` (the positioned frame), `p` (where `,"pos":` starts in it), `a` (Redis time of the
 * append, microseconds), `x` (the broadcast's `except`, JSON, when any); a tombstone (a message
 * lost while Redis was away) has `g` instead of `d`/`p`. The meta hash also keeps `r`, the run id
 * of the Redis process that last wrote it: a stream that another process wrote (Redis restarted
 * from its snapshot or AOF, a replica was promoted) may lack its newest writes, which nothing
 * can tell, and its next offsets would be taken for messages clients already had. Such a stream
 * is read as having no history, and its next write starts a new epoch: a restart or a failover
 * costs recovering clients one `recovered: false`, never a silent loss.
 */

/** The script without indentation nor blank lines: it crosses the wire with every publish. */
function compact(lua: string): string {
  return lua
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

/**
 * The run id of this Redis process (`INFO server`: new at every start, and a promoted replica
 * has its own), which streams are stamped with (`r`).
 */
const RUN_ID = `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
`;

/** Redis time in microseconds, as a 16-digit string (exact in a JS number). */
const NOW = `
local t = redis.call('TIME')
local at = t[1] .. string.format('%06d', tonumber(t[2]))
`;

/**
 * Makes sure the stream of KEYS[m], KEYS[h] has an epoch: a missing meta hash means the history
 * is lost (never existed, expired, Redis restarted empty), so a fresh epoch starts and whatever
 * is left of an old history key goes. So does a stream another Redis process wrote (`r`, see
 * above), and a stream behind `floor` in the same epoch: a
 * publisher saw a newer offset of it, so the stream was rolled back (a failover to a replica
 * that lacked the newest writes) and its next offsets would be taken for messages clients
 * already had. Then takes the next offset.
 */
const NEXT_OFFSET = `
local function next_offset(meta, hist, candidate, floor, floor_epoch)
  local m = redis.call('HMGET', meta, 'e', 's', 'r')
  local epoch = m[1]
  if epoch and m[3] ~= run then epoch = false end
  if epoch and floor_epoch ~= '' and epoch == floor_epoch and tonumber(m[2] or '0') < tonumber(floor) then
    epoch = false
  end
  if not epoch then
    epoch = candidate
    redis.call('DEL', hist, meta)
    redis.call('HSET', meta, 'e', epoch, 'r', run)
  end
  return redis.call('HINCRBY', meta, 's', 1), epoch
end
`;

/**
 * Appends an entry with id `<offset>-0`, trimmed to the history size. Ids only grow with the
 * offset; should the history hold a newer id anyway (its meta hash was lost alone, say by
 * eviction), it is restarted: readers see the missing entries as a gap, never a silent one.
 */
const APPEND_ENTRY = `
local function append(hist, size, top, fields)
  local args = { 'XADD', hist, 'MAXLEN', size, top .. '-0' }
  for i = 1, #fields do args[#args + 1] = fields[i] end
  local ok = redis.pcall(unpack(args))
  if type(ok) == 'table' and ok.err then
    redis.call('DEL', hist)
    redis.call(unpack(args))
  end
end
`;

/**
 * One publish of a recorded message, atomically and in one round trip: for each stream its
 * epoch and next offset, the positioned frame (the plain frame with `,"pos":{...}` before its
 * last `}`), an entry in each history, the keys' TTLs, then one PUBLISH per channel of the
 * header, a newline and the positioned frame.
 *
 * KEYS: per stream, its meta hash and its history (2 per stream).
 * ARGV: header, plain frame, history size, history TTL ms, meta TTL ms, except ('' for none),
 * p (index of the plain frame's last `}`), then per stream (5 each): its name as JSON, an epoch
 * candidate, its channel, the floor offset and the floor's epoch ('0', '' for none); then,
 * optional (Redis Cluster): the id of a message appended as several copies ('' for none: stored
 * as `i`, and `,"mid":"<id>"` goes before `,"pos"` in the frame; base64url, so JSON as it is)
 * and `S` to publish with SPUBLISH (`N`: not at all).
 * Returns the positions as JSON (`{"<stream>":[offset,"epoch"],...}`).
 */
export const APPEND_PUBLISH = compact(
  RUN_ID +
    NOW +
    NEXT_OFFSET +
    APPEND_ENTRY +
    `
local n = #KEYS / 2
local tops, parts = {}, {}
for i = 1, n do
  local a = 7 + 5 * (i - 1)
  local top, epoch = next_offset(KEYS[2 * i - 1], KEYS[2 * i], ARGV[a + 2], ARGV[a + 4], ARGV[a + 5])
  tops[i] = top
  parts[i] = ARGV[a + 1] .. ':[' .. top .. ',"' .. epoch .. '"]'
end
local pos = '{' .. table.concat(parts, ',') .. '}'
local id = ARGV[8 + 5 * n]
local mid = ''
if id and id ~= '' then mid = ',"mid":"' .. id .. '"' end
local text = string.sub(ARGV[2], 1, -2) .. mid .. ',"pos":' .. pos .. '}'
local fields = { 'd', text, 'p', ARGV[7], 'a', at }
if ARGV[6] ~= '' then
  fields[#fields + 1] = 'x'
  fields[#fields + 1] = ARGV[6]
end
if mid ~= '' then
  fields[#fields + 1] = 'i'
  fields[#fields + 1] = id
end
local mode = ARGV[9 + 5 * n]
local cmd = 'PUBLISH'
if mode == 'S' then cmd = 'SPUBLISH' end
for i = 1, n do
  append(KEYS[2 * i], ARGV[3], tops[i], fields)
  redis.call('PEXPIRE', KEYS[2 * i], ARGV[4])
  redis.call('PEXPIRE', KEYS[2 * i - 1], ARGV[5])
end
if mode == 'N' then return pos end
local payload = ARGV[1] .. '\\n' .. text
for i = 1, n do
  redis.call(cmd, ARGV[7 + 5 * (i - 1) + 3], payload)
end
return pos
`,
);

/**
 * Marks a gap: a message of this stream was delivered while its history could not be written.
 * Takes an offset and appends a tombstone, so any resume across it answers `recovered: false`.
 *
 * KEYS: meta hash, history. ARGV: epoch candidate, history size, history TTL ms, meta TTL ms.
 * Returns the tombstone's offset.
 */
export const MARK_GAP = compact(
  RUN_ID +
    NOW +
    NEXT_OFFSET +
    APPEND_ENTRY +
    `
local top = next_offset(KEYS[1], KEYS[2], ARGV[1], '0', '')
append(KEYS[2], ARGV[2], top, { 'g', '1', 'a', at })
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return top
`,
);

/**
 * What a stream holds after an offset, with Redis's time to judge the entries' age. A stream
 * another Redis process wrote reads as none (no epoch, offset 0).
 *
 * KEYS: meta hash, history. ARGV: first offset wanted (0: none), the reader's epoch ('' when
 * any will do), the last offset wanted (`+`: the top). Returns `{epoch ('' when none), top,
 * now (microseconds), entries}`, the entries as XRANGE gives them, fetched only when the epoch
 * is the reader's and `from <= top`.
 */
export const READ_STREAM = compact(
  RUN_ID +
    NOW +
    `
local m = redis.call('HMGET', KEYS[1], 'e', 's', 'r')
local epoch = m[1] or ''
local top = tonumber(m[2] or '0')
if m[3] ~= run then
  epoch = ''
  top = 0
end
local from = tonumber(ARGV[1])
local entries = {}
if from > 0 and from <= top and (ARGV[2] == '' or ARGV[2] == epoch) then
  entries = redis.call('XRANGE', KEYS[2], from, ARGV[3])
end
return { epoch, tostring(top), at, entries }
`,
);

/**
 * Gives a rolled-back stream a new epoch: if it is still at the epoch a receiver saw reused
 * offsets in, with its newest offset at or below what that receiver had seen, its history goes
 * and a new epoch starts (clients that resume across it are told `recovered: false`).
 *
 * KEYS: meta hash, history. ARGV: the epoch, the offset seen, an epoch candidate.
 */
export const RENEW_EPOCH = compact(
  RUN_ID +
    `
local m = redis.call('HMGET', KEYS[1], 'e', 's')
if m[1] == ARGV[1] and tonumber(m[2] or '0') <= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'e', ARGV[3], 's', 0, 'r', run)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
  return 1
end
return 0
`,
);

/**
 * A session is a hash (`h` hash of its secret, `u` its user, `c` the connection holding it, ''
 * once released) and its rooms in a second hash (room → `1` joined by the client itself, `0`
 * by the server); both share the client's hash tag.
 */

/** A new session. KEYS: session hash, rooms hash. ARGV: hash, user ('+<id>' or '-'), holder, TTL ms. */
export const CREATE_SESSION = `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'u', ARGV[2], 'c', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/**
 * Resumes a session: checks the presented secret's hash and the user, then replaces the hash
 * (a credential works once) and hands the session to the new holder, keeping it alive.
 *
 * KEYS: session hash, rooms hash. ARGV: presented hash, user ('+<id>' or '-'), new hash, new
 * holder, TTL ms. Returns `{outcome}` (`unknown`, `mismatch`, `wrong-user`) or `{'ok', previous
 * holder ('' when released), room, flag, room, flag, ...}`.
 */
export const RESUME_SESSION = `
local s = redis.call('HMGET', KEYS[1], 'h', 'u', 'c')
if not s[1] then return { 'unknown' } end
if s[1] ~= ARGV[1] then return { 'mismatch' } end
if (s[2] or '') ~= ARGV[2] then return { 'wrong-user' } end
redis.call('HSET', KEYS[1], 'h', ARGV[3], 'c', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
local out = { 'ok', s[3] or '' }
local rooms = redis.call('HGETALL', KEYS[2])
for i = 1, #rooms do out[#out + 1] = rooms[i] end
return out
`;

/**
 * The holder disconnected: if it still holds the session, the session (and its rooms) stay
 * resumable for the session TTL. KEYS: session hash, rooms hash. ARGV: holder, TTL ms.
 */
export const RELEASE_SESSION = `
if redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'c', '')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
`;

/** A room of a live session. KEYS: session hash, rooms hash. ARGV: room, flag, TTL ms. */
export const ADD_ROOM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;
