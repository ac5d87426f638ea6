import type { BreakerSnapshot } from '../breakerSnapshot.js';
import { BacklogLockedError } from '../errors/BacklogLockedError.js';
import { refuseUnknownOptions } from '../optionNames.js';
import { optionsObject } from '../validate.js';
import { compareKeys } from './keys.js';
import { revive } from './record.js';
import type {
  BacklogHooks,
  BacklogOpened,
  BacklogRecord,
  BacklogStats,
  BacklogStore,
  DeadLetter,
} from './types.js';

/**
 * A backlog kept in memory: the same ordering, retries and dead letters as a
 * file store, but it is lost when the process exits. For tests, and for
 * users who accept that. Records are copied in and out, so a store behaves
 * like one that serializes.
 *
 * @param options none yet: any option given (such as an `lmdbBacklog` one
 *   left over from swapping stores) throws a `TypeError` naming it.
 */
export function memoryBacklog(options: Readonly<Record<string, never>> = {}): BacklogStore {
  refuseUnknownOptions('memoryBacklog', optionsObject('memoryBacklog', options), []);
  return memoryStore();
}

const copy = <T extends BacklogRecord>(record: T): T => structuredClone(record);

/**
 * The store's state lives in this closure, not on the object it returns: no
 * JavaScript caller can reach it, and a store wrapped with `Object.create` or
 * a `Proxy` (to inject faults, or count calls) still works, which `#private`
 * fields would not allow.
 */
function memoryStore(): BacklogStore {
  const location = 'memory';
  // Per key, in seq order: appends are always newer than what is kept.
  const byKey = new Map<string, Map<number, BacklogRecord>>();
  const dead = new Map<number, DeadLetter>();
  let owned = false;
  // What the owning worker's breaker last saved, for the next worker on this store.
  let breaker: BreakerSnapshot | undefined;

  const put = (record: BacklogRecord): void => {
    let records = byKey.get(record.key);
    if (records === undefined) {
      records = new Map();
      byKey.set(record.key, records);
    }
    records.set(record.seq, record);
  };
  const remove = (record: BacklogRecord): void => {
    const records = byKey.get(record.key);
    records?.delete(record.seq);
    if (records?.size === 0) byKey.delete(record.key);
  };
  const stats = (): BacklogStats => {
    const counts: Record<string, number> = {};
    let pending = 0;
    let oldestEnqueuedAt: number | undefined;
    for (const [key, records] of byKey) {
      counts[key] = records.size;
      pending += records.size;
      for (const record of records.values()) {
        oldestEnqueuedAt = Math.min(oldestEnqueuedAt ?? record.enqueuedAt, record.enqueuedAt);
      }
    }
    return { pending, deadLetters: dead.size, byKey: counts, oldestEnqueuedAt };
  };

  return {
    location,
    open(_hooks: BacklogHooks): BacklogOpened {
      if (owned) throw new BacklogLockedError(location);
      owned = true;
      let pending = 0;
      let maxSeq = 0;
      for (const records of byKey.values()) {
        pending += records.size;
        for (const seq of records.keys()) maxSeq = Math.max(maxSeq, seq);
      }
      for (const seq of dead.keys()) maxSeq = Math.max(maxSeq, seq);
      const saved = breaker === undefined ? undefined : { ...breaker };
      return { nextSeq: maxSeq + 1, pending, deadLetters: dead.size, breaker: saved };
    },
    saveBreaker(state) {
      if (owned) breaker = { ...state };
    },
    append(records, payloadJson) {
      // The payload as accepted: the text when given, since the record holds the caller's value.
      records.forEach((record, i) => {
        const text = payloadJson?.[i];
        put(text === undefined ? copy(record) : { ...record, payload: JSON.parse(text) });
      });
      return Promise.resolve();
    },
    keyAfter(after) {
      // A scan of every key: this store is for tests and small backlogs.
      let next: string | undefined;
      for (const key of byKey.keys()) {
        if (after !== undefined && compareKeys(key, after) <= 0) continue;
        if (next === undefined || compareKeys(key, next) < 0) next = key;
      }
      return next;
    },
    firstSeq(key, afterSeq = 0) {
      let first: number | undefined;
      for (const seq of byKey.get(key)?.keys() ?? []) {
        if (seq > afterSeq) first = Math.min(first ?? seq, seq);
      }
      return first;
    },
    read(key, afterSeq, limit) {
      const found: BacklogRecord[] = [];
      const records = byKey.get(key);
      if (records === undefined) return found;
      for (const [seq, record] of records) {
        if (found.length >= limit) break;
        if (seq > afterSeq) found.push(copy(record));
      }
      return found;
    },
    update(record) {
      if (byKey.get(record.key)?.has(record.seq)) put(copy(record));
    },
    remove,
    bury(letter) {
      remove(letter);
      dead.set(letter.seq, copy(letter));
    },
    requeueDead(nextSeq) {
      const revived = [...dead.values()].map((letter) => revive(letter, nextSeq()));
      dead.clear();
      for (const record of revived) put(copy(record));
      return Promise.resolve(revived);
    },
    purge() {
      const count = stats().pending + dead.size;
      byKey.clear();
      dead.clear();
      return Promise.resolve(count);
    },
    flush: () => Promise.resolve(),
    stats,
    list(options = {}) {
      const all: BacklogRecord[] = [];
      for (const [key, records] of byKey) {
        if (options.key === undefined || options.key === key) all.push(...records.values());
      }
      all.sort((a, b) => a.seq - b.seq);
      return all.slice(0, options.limit ?? all.length).map(copy);
    },
    deadLetters(options = {}) {
      return [...dead.values()].slice(0, options.limit ?? dead.size).map(copy);
    },
    close() {
      owned = false;
      return Promise.resolve();
    },
  };
}
