import { BacklogLockedError } from '../errors/BacklogLockedError.js';
import { refuseUnknownOptions } from '../optionNames.js';
import { optionsObject } from '../validate.js';
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
  return new MemoryBacklog();
}

const copy = <T extends BacklogRecord>(record: T): T => structuredClone(record);

class MemoryBacklog implements BacklogStore {
  readonly location = 'memory';
  // Per key, in seq order: appends are always newer than what is kept.
  readonly #byKey = new Map<string, Map<number, BacklogRecord>>();
  readonly #dead = new Map<number, DeadLetter>();
  #owned = false;

  open(_hooks: BacklogHooks): BacklogOpened {
    if (this.#owned) throw new BacklogLockedError(this.location);
    this.#owned = true;
    const pendingByKey = new Map<string, number>();
    let maxSeq = 0;
    for (const [key, records] of this.#byKey) {
      pendingByKey.set(key, records.size);
      for (const seq of records.keys()) maxSeq = Math.max(maxSeq, seq);
    }
    for (const seq of this.#dead.keys()) maxSeq = Math.max(maxSeq, seq);
    return { nextSeq: maxSeq + 1, pendingByKey, deadLetters: this.#dead.size };
  }

  append(records: readonly BacklogRecord[]): Promise<void> {
    for (const record of records) this.#put(copy(record));
    return Promise.resolve();
  }

  read(key: string, afterSeq: number, limit: number): BacklogRecord[] {
    const found: BacklogRecord[] = [];
    const records = this.#byKey.get(key);
    if (records === undefined) return found;
    for (const [seq, record] of records) {
      if (found.length >= limit) break;
      if (seq > afterSeq) found.push(copy(record));
    }
    return found;
  }

  update(record: BacklogRecord): void {
    if (this.#byKey.get(record.key)?.has(record.seq)) this.#put(copy(record));
  }

  remove(record: BacklogRecord): void {
    const records = this.#byKey.get(record.key);
    records?.delete(record.seq);
    if (records?.size === 0) this.#byKey.delete(record.key);
  }

  bury(letter: DeadLetter): void {
    this.remove(letter);
    this.#dead.set(letter.seq, copy(letter));
  }

  requeueDead(nextSeq: () => number): Promise<BacklogRecord[]> {
    const revived = [...this.#dead.values()].map((letter) => revive(letter, nextSeq()));
    this.#dead.clear();
    for (const record of revived) this.#put(copy(record));
    return Promise.resolve(revived);
  }

  purge(): Promise<number> {
    const count = this.stats().pending + this.#dead.size;
    this.#byKey.clear();
    this.#dead.clear();
    return Promise.resolve(count);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stats(): BacklogStats {
    const byKey: Record<string, number> = {};
    let pending = 0;
    let oldestEnqueuedAt: number | undefined;
    for (const [key, records] of this.#byKey) {
      byKey[key] = records.size;
      pending += records.size;
      for (const record of records.values()) {
        oldestEnqueuedAt = Math.min(oldestEnqueuedAt ?? record.enqueuedAt, record.enqueuedAt);
      }
    }
    return { pending, deadLetters: this.#dead.size, byKey, oldestEnqueuedAt };
  }

  list(options: { key?: string; limit?: number } = {}): BacklogRecord[] {
    const all: BacklogRecord[] = [];
    for (const [key, records] of this.#byKey) {
      if (options.key === undefined || options.key === key) all.push(...records.values());
    }
    all.sort((a, b) => a.seq - b.seq);
    return all.slice(0, options.limit ?? all.length).map(copy);
  }

  deadLetters(options: { limit?: number } = {}): DeadLetter[] {
    return [...this.#dead.values()].slice(0, options.limit ?? this.#dead.size).map(copy);
  }

  close(): Promise<void> {
    this.#owned = false;
    return Promise.resolve();
  }

  #put(record: BacklogRecord): void {
    let records = this.#byKey.get(record.key);
    if (records === undefined) {
      records = new Map();
      this.#byKey.set(record.key, records);
    }
    records.set(record.seq, record);
  }
}
