/**
 * The shared-store protocol in Lua, run by Redis atomically (one script at a
 * time), so each operation is one round trip and sees one consistent state.
 *
 * Key layout, under the store's prefix P (see README "Running a fleet"):
 *   P meta          hash: version (the layout's), seq, token, turn (counters)
 *   P rec           hash: seq → record body (the JSON of src/backlog/record.ts)
 *   P lost          hash: seq → leases lost on that record (absent when 0)
 *   P dead          hash: seq → dead letter body
 *   P k:<key>       sorted set: the key's pending seqs (score = seq)
 *   P s:<key>       hash: the key's lease (token, until, owner, seqs) and retry time nb
 *   P turn          hash: key → its place in the one rotation (smaller runs sooner)
 *   P ready         sorted set: claimable keys, by turn
 *   P wait          sorted set: keys with records that are leased or waiting for a
 *                   retry time, by the ms (server clock) they may become claimable
 *   P a:<owner>:<n> string, expires after 1 min: the seqs session <owner>'s append n stored
 *   P c:<owner>     string, expires with the lease: session <owner>'s last claim (nonce|key)
 * Every time comes from the server's clock (TIME), never the caller's.
 */

/** Helpers every script starts with: ARGV[1] is the prefix. */
const PRELUDE = `
local P = ARGV[1]
local META, REC, LOST, DEAD = P .. 'meta', P .. 'rec', P .. 'lost', P .. 'dead'
local TURN, READY, WAIT = P .. 'turn', P .. 'ready', P .. 'wait'
local function pk(k) return P .. 'k:' .. k end
local function sk(k) return P .. 's:' .. k end
local function ms(n) return string.format('%d', n) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Where a key belongs once no current lease holds it: nowhere when it has no
-- records, else waiting for its retry time, else ready at its turn.
local function place(k, now)
  if redis.call('ZCARD', pk(k)) == 0 then
    redis.call('ZREM', READY, k)
    redis.call('ZREM', WAIT, k)
    redis.call('DEL', sk(k))
    return
  end
  local s = redis.call('HMGET', sk(k), 'nb', 'until')
  local at = math.max(tonumber(s[1] or '0'), tonumber(s[2] or '0'))
  if at > now then
    redis.call('ZREM', READY, k)
    redis.call('ZADD', WAIT, ms(at), k)
  else
    redis.call('ZREM', WAIT, k)
    redis.call('ZADD', READY, redis.call('HGET', TURN, k), k)
  end
end
-- Whether token is the key's latest lease and it has not expired.
local function current(k, token, now)
  local s = redis.call('HMGET', sk(k), 'token', 'until')
  return s[1] == token and tonumber(s[2] or '0') > now
end
local function end_lease(k)
  redis.call('HDEL', sk(k), 'until', 'seqs', 'owner')
end
-- HMGET of many fields, in chunks (unpack's limit is a few thousand values).
local function hmget_all(hash, fields)
  local out = {}
  for from = 1, #fields, 1000 do
    local chunk = {}
    for i = from, math.min(from + 999, #fields) do chunk[#chunk + 1] = fields[i] end
    for _, value in ipairs(redis.call('HMGET', hash, unpack(chunk))) do out[#out + 1] = value end
  end
  return out
end
-- Keeps one record at the end of its key; a key that had none joins the rotation at the back.
local function add(k, body, now)
  local seq = redis.call('HINCRBY', META, 'seq', 1)
  local was_empty = redis.call('ZCARD', pk(k)) == 0
  redis.call('ZADD', pk(k), seq, seq)
  redis.call('HSET', REC, seq, body)
  if was_empty then
    redis.call('HSET', TURN, k, redis.call('HINCRBY', META, 'turn', 1))
    place(k, now)
  end
  return seq
end
`;

/**
 * ARGV: prefix, owner, nonce, then key and body per record. Returns the seqs,
 * in order. The same owner and nonce again within a minute (the client sent
 * it again after a broken connection lost its answer) returns the first
 * run's seqs and stores nothing.
 */
export const APPEND = `${PRELUDE}
local done = P .. 'a:' .. ARGV[2] .. ':' .. ARGV[3]
local before = redis.call('GET', done)
if before then
  local seqs = {}
  for seq in string.gmatch(before, '%d+') do seqs[#seqs + 1] = tonumber(seq) end
  return seqs
end
local now = now_ms()
local seqs = {}
for i = 4, #ARGV, 2 do seqs[#seqs + 1] = add(ARGV[i], ARGV[i + 1], now) end
redis.call('SET', done, table.concat(seqs, ','), 'PX', 60000)
return seqs
`;

/**
 * ARGV: prefix, owner, limit, leaseMs, nonce. Returns nil, or
 * {key, token, until, seqs, bodies, lost}. The same owner and nonce again
 * (sent again after a broken connection lost the answer) hands out the same
 * lease while it is current, instead of a second one that would hold a key
 * nobody runs until it expired.
 */
export const CLAIM = `${PRELUDE}
local now = now_ms()
local last = P .. 'c:' .. ARGV[2]
local before = redis.call('GET', last)
if before then
  local sep = string.find(before, '|', 1, true)
  if string.sub(before, 1, sep - 1) == ARGV[5] then
    local k = string.sub(before, sep + 1)
    local s = redis.call('HMGET', sk(k), 'token', 'until', 'seqs', 'owner')
    if s[4] == ARGV[2] and tonumber(s[2] or '0') > now then
      local seqs = {}
      for seq in string.gmatch(s[3], '%d+') do seqs[#seqs + 1] = seq end
      return {k, tonumber(s[1]), s[2], seqs, hmget_all(REC, seqs), hmget_all(LOST, seqs)}
    end
  end
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', WAIT, '-inf', ms(now))) do
  redis.call('ZREM', WAIT, k)
  if redis.call('ZCARD', pk(k)) == 0 then redis.call('DEL', sk(k))
  else redis.call('ZADD', READY, redis.call('HGET', TURN, k), k) end
end
local k = redis.call('ZRANGE', READY, 0, 0)[1]
if not k then return false end
-- A lease still on the key has expired with no outcome: the runs of its records were lost.
local held = redis.call('HGET', sk(k), 'seqs')
if held then
  for seq in string.gmatch(held, '%d+') do
    if redis.call('ZSCORE', pk(k), seq) then redis.call('HINCRBY', LOST, seq, 1) end
  end
end
-- A head that lost a lease runs alone: what follows it is not counted again if it kills its worker.
local head = redis.call('ZRANGE', pk(k), 0, 0)[1]
local limit = tonumber(ARGV[3])
if redis.call('HGET', LOST, head) then limit = 1 end
local seqs = redis.call('ZRANGE', pk(k), 0, limit - 1)
local token = redis.call('HINCRBY', META, 'token', 1)
local untl = now + tonumber(ARGV[4])
redis.call('HSET', sk(k), 'token', token, 'until', ms(untl), 'owner', ARGV[2], 'seqs', table.concat(seqs, ','))
redis.call('ZREM', READY, k)
redis.call('ZADD', WAIT, ms(untl), k)
redis.call('HSET', TURN, k, redis.call('HINCRBY', META, 'turn', 1))
redis.call('SET', last, ARGV[5] .. '|' .. k, 'PX', ARGV[4])
return {k, token, ms(untl), seqs, hmget_all(REC, seqs), hmget_all(LOST, seqs)}
`;

/** ARGV: prefix, key, token, release (1/0), seqs…. Returns 1 when it took effect, else 0. */
export const ACK = `${PRELUDE}
local now, k = now_ms(), ARGV[2]
if not current(k, ARGV[3], now) then return 0 end
for i = 5, #ARGV do
  if redis.call('ZREM', pk(k), ARGV[i]) == 1 then
    redis.call('HDEL', REC, ARGV[i])
    redis.call('HDEL', LOST, ARGV[i])
  end
end
if ARGV[4] == '1' then end_lease(k); place(k, now) end
return 1
`;

/** ARGV: prefix, key, token, delayMs, then seq and body per record. Returns 1 or 0. */
export const RETRY = `${PRELUDE}
local now, k = now_ms(), ARGV[2]
if not current(k, ARGV[3], now) then return 0 end
for i = 5, #ARGV, 2 do
  if redis.call('ZSCORE', pk(k), ARGV[i]) then redis.call('HSET', REC, ARGV[i], ARGV[i + 1]) end
end
end_lease(k)
redis.call('HSET', sk(k), 'nb', ms(now + tonumber(ARGV[4])))
place(k, now)
return 1
`;

/** ARGV: prefix, key, token, release (1/0), then seq and letter body per letter. Returns 1 or 0. */
export const BURY = `${PRELUDE}
local now, k = now_ms(), ARGV[2]
if not current(k, ARGV[3], now) then return 0 end
for i = 5, #ARGV, 2 do
  if redis.call('ZREM', pk(k), ARGV[i]) == 1 then
    redis.call('HDEL', REC, ARGV[i])
    redis.call('HDEL', LOST, ARGV[i])
    redis.call('HSET', DEAD, ARGV[i], ARGV[i + 1])
  end
end
if ARGV[4] == '1' then end_lease(k); place(k, now) end
return 1
`;

/** ARGV: prefix, key, token, leaseMs. Returns 1 or 0. */
export const RENEW = `${PRELUDE}
local now, k = now_ms(), ARGV[2]
if not current(k, ARGV[3], now) then return 0 end
local untl = ms(now + tonumber(ARGV[4]))
redis.call('HSET', sk(k), 'until', untl)
redis.call('ZADD', WAIT, untl, k)
return 1
`;

/** ARGV: prefix, key, token. Ends the lease with no outcome; returns 1 or 0. */
export const RELEASE = `${PRELUDE}
local now, k = now_ms(), ARGV[2]
if not current(k, ARGV[3], now) then return 0 end
end_lease(k)
place(k, now)
return 1
`;

/** ARGV: prefix. Returns ms until some key is claimable, 0 if one is now, nil if none has records. */
export const DUE = `${PRELUDE}
if redis.call('ZCARD', READY) > 0 then return 0 end
local now = now_ms()
local waiting = redis.call('ZRANGE', WAIT, 0, -1, 'WITHSCORES')
for i = 1, #waiting, 2 do
  if redis.call('ZCARD', pk(waiting[i])) > 0 then
    return math.max(0, tonumber(waiting[i + 1]) - now)
  end
end
return false
`;

export { PRELUDE };
