/**
 * The store's administrative scripts (open, the CLI's reads, requeue,
 * purge), on the key layout described in lua.ts.
 */
import { PRELUDE } from './lua.js';

/**
 * ARGV: prefix, this version's layout version. Stamps an empty store with it
 * and returns the stored version (one script, so instances opening at once agree).
 */
export const OPEN = `${PRELUDE}
local stored = redis.call('HGET', META, 'version')
if stored then return tonumber(stored) end
redis.call('HSET', META, 'version', ARGV[2])
return tonumber(ARGV[2])
`;

/** ARGV: prefix. Returns {pending, dead, leased, oldestEnqueuedAt or -1, {key, count, …}}. */
export const STATS = `${PRELUDE}
local now = now_ms()
local by_key, leased = {}, 0
for _, k in ipairs(redis.call('ZRANGE', READY, 0, -1)) do
  by_key[#by_key + 1] = k
  by_key[#by_key + 1] = redis.call('ZCARD', pk(k))
end
for _, k in ipairs(redis.call('ZRANGE', WAIT, 0, -1)) do
  local count = redis.call('ZCARD', pk(k))
  if count > 0 then
    by_key[#by_key + 1] = k
    by_key[#by_key + 1] = count
    if tonumber(redis.call('HGET', sk(k), 'until') or '0') > now then leased = leased + 1 end
  end
end
local oldest = -1
for _, body in ipairs(redis.call('HVALS', REC)) do
  local ok, record = pcall(cjson.decode, body)
  if ok and type(record) == 'table' and type(record.enqueuedAt) == 'number' then
    if oldest < 0 or record.enqueuedAt < oldest then oldest = record.enqueuedAt end
  end
end
return {redis.call('HLEN', REC), redis.call('HLEN', DEAD), leased, ms(oldest), by_key}
`;

/** The seqs of a hash's fields in order, at most limit (0: all). */
const SORTED_FIELDS = `
local function sorted_fields(hash, limit)
  local seqs = redis.call('HKEYS', hash)
  table.sort(seqs, function(a, b) return tonumber(a) < tonumber(b) end)
  if limit > 0 then
    local cut = {}
    for i = 1, math.min(limit, #seqs) do cut[i] = seqs[i] end
    return cut
  end
  return seqs
end
`;

/** ARGV: prefix, key ('' for all), limit (0: all). Returns {seqs, bodies, lost}. */
export const LIST = `${PRELUDE}${SORTED_FIELDS}
local limit, seqs = tonumber(ARGV[3]), nil
if ARGV[2] ~= '' then
  seqs = redis.call('ZRANGE', pk(ARGV[2]), 0, limit > 0 and limit - 1 or -1)
else
  seqs = sorted_fields(REC, limit)
end
if #seqs == 0 then return {{}, {}, {}} end
return {seqs, hmget_all(REC, seqs), hmget_all(LOST, seqs)}
`;

/** ARGV: prefix, limit (0: all). Returns {seqs, bodies}. */
export const DEAD_LETTERS = `${PRELUDE}${SORTED_FIELDS}
local seqs = sorted_fields(DEAD, tonumber(ARGV[2]))
if #seqs == 0 then return {{}, {}} end
return {seqs, hmget_all(DEAD, seqs)}
`;

/**
 * ARGV: prefix, then old seq, key and fresh body per letter, oldest first.
 * Moves each letter still dead to the end of its key; returns how many.
 */
export const REQUEUE = `${PRELUDE}
local now, moved = now_ms(), 0
for i = 2, #ARGV, 3 do
  if redis.call('HDEL', DEAD, ARGV[i]) == 1 then
    add(ARGV[i + 1], ARGV[i + 2], now)
    moved = moved + 1
  end
end
return moved
`;

/** ARGV: prefix. Deletes every record, lease and dead letter (the counters stay); returns how many records. */
export const PURGE = `${PRELUDE}
local count = redis.call('HLEN', REC) + redis.call('HLEN', DEAD)
for _, set in ipairs({READY, WAIT}) do
  for _, k in ipairs(redis.call('ZRANGE', set, 0, -1)) do redis.call('DEL', pk(k), sk(k)) end
end
redis.call('DEL', REC, LOST, DEAD, TURN, READY, WAIT)
return count
`;
