import type { Database, RootDatabase } from 'lmdb';
import {
  corruptLetter,
  decodeDeadLetter,
  decodeRecord,
  encodeRecord,
  revive,
} from '../backlog/record.js';
import type {
  BacklogHooks,
  BacklogOpened,
  BacklogRecord,
  BacklogStats,
  BacklogStore,
  DeadLetter,
} from '../backlog/types.js';
import type { BreakerSnapshot } from '../breakerSnapshot.js';
import { BacklogError } from '../errors/BacklogError.js';
import { bytesInUse, checkCapacity } from './capacity.js';
import { keepNextSeq, readBreaker, writeBreaker } from './lmdbMeta.js';
import { loadLmdb, MAX_SEQ, type OpenLmdb, reasonOf, type TaskKey } from './lmdbOpen.js';
import { type LmdbBacklogOptions, type LmdbSettings, lmdbSettings } from './lmdbOptions.js';
import { countStats, firstSeq, keyAfter, listTasks, openSummary } from './lmdbRead.js';
import { openStoreFiles, realFileSystem, type StoreFileSeams } from './storeFiles.js';

export type { LmdbBacklogOptions } from './lmdbOptions.js';

/**
 * A backlog in an embedded LMDB database: ACID transactions, crash-safe
 * against torn writes, with ordered keys `[key, seq]` so each key's records
 * read back in order, and group commits. One worker owns a store at a time
 * (an exclusive lock file that a killed owner leaves stale, never binding).
 * Needs the optional peer dependency `lmdb`.
 */
export function lmdbBacklog(options: LmdbBacklogOptions): BacklogStore {
  return new LmdbBacklog(lmdbSettings(options), loadLmdb(), realFileSystem);
}

/**
 * {@link lmdbBacklog} with the file system calls that tests watch (syncing a directory).
 * @internal
 */
export function lmdbBacklogWith(options: LmdbBacklogOptions, fs: StoreFileSeams): BacklogStore {
  return new LmdbBacklog(lmdbSettings(options), loadLmdb(), fs);
}

class LmdbBacklog implements BacklogStore {
  readonly location: string;
  readonly readOnly: boolean;
  private root: RootDatabase | undefined;
  private tasks!: Database<string, TaskKey>;
  private dead!: Database<string, number>;
  private meta: Database<string, string> | undefined;
  private hooks: BacklogHooks | undefined;
  private releaseLock: (() => void) | undefined;

  constructor(
    private readonly settings: LmdbSettings,
    private readonly openLmdb: OpenLmdb,
    private readonly fs: StoreFileSeams,
  ) {
    this.location = settings.location;
    this.readOnly = settings.readOnly;
  }

  open(hooks: BacklogHooks): BacklogOpened {
    if (this.root !== undefined)
      throw new BacklogError(this.location, `backlog ${this.location} is already open`);
    this.hooks = hooks;
    const files = openStoreFiles(
      this.location,
      { readOnly: this.readOnly, mapSize: this.settings.mapSize },
      this.openLmdb,
      this.fs,
    );
    ({ root: this.root, tasks: this.tasks, dead: this.dead, meta: this.meta } = files.handles);
    this.releaseLock = files.releaseLock;
    try {
      return { ...openSummary(this.tasks, this.dead, this.meta), breaker: readBreaker(this.meta) };
    } catch (error) {
      this.releaseLock?.();
      throw this.failure('cannot open', error);
    }
  }

  append(records: readonly BacklogRecord[], payloadJson?: readonly string[]): Promise<void> {
    const db = this.writable();
    if (records.length === 0) return Promise.resolve();
    // A payload the worker serialized when it accepted the task is written as that text.
    // Counting bytes needs every text first; otherwise each is made just before its put,
    // so it dies young (held through the commit, they cost a tenth of it in scavenges).
    const { maxBytes } = this.settings;
    let values: string[] | undefined;
    if (maxBytes !== undefined) {
      values = records.map((record, i) => encodeRecord(record, payloadJson?.[i]));
      const inUse = bytesInUse(db, this.tasks, this.dead);
      const full = checkCapacity(this.location, maxBytes, inUse, records, values);
      if (full !== undefined) return Promise.reject(full);
    }
    // One transaction, so a group commit is kept whole or not at all. Without
    // overlappingSync it resolves once durable (see OPEN_OPTIONS).
    return db
      .transaction(() => {
        for (let i = 0; i < records.length; i++) {
          const record = records[i] as BacklogRecord;
          this.tasks.put(
            [record.key, record.seq],
            values?.[i] ?? encodeRecord(record, payloadJson?.[i]),
          );
        }
        this.keepNextSeq((records[records.length - 1] as BacklogRecord).seq);
      })
      .then(
        () => undefined,
        (error: unknown) => this.refused('cannot write to', error),
      );
  }

  read(key: string, afterSeq: number, limit: number): BacklogRecord[] {
    const found: BacklogRecord[] = [];
    const range = this.tasks.getRange({ start: [key, afterSeq + 1], end: [key, MAX_SEQ] });
    for (const { key: stored, value } of range) {
      if (found.length >= limit) break;
      const seq = stored[1];
      try {
        found.push(decodeRecord(seq, value));
      } catch (error) {
        this.buryCorrupt(key, seq, value, error);
      }
    }
    return found;
  }

  keyAfter(after: string | undefined): string | undefined {
    return keyAfter(this.tasks, after);
  }

  firstSeq(key: string, afterSeq = 0): number | undefined {
    return firstSeq(this.tasks, key, afterSeq);
  }

  update(record: BacklogRecord): void {
    this.background(this.tasks.put([record.key, record.seq], encodeRecord(record)));
  }

  remove(record: BacklogRecord): void {
    this.background(this.tasks.remove([record.key, record.seq]));
  }

  bury(letter: DeadLetter): void {
    this.writable();
    this.background(
      this.tasks.transaction(() => {
        this.tasks.remove([letter.key, letter.seq]);
        this.dead.put(letter.seq, encodeRecord(letter));
      }),
    );
  }

  async requeueDead(nextSeq: () => number): Promise<BacklogRecord[]> {
    const db = this.writable();
    const revived: BacklogRecord[] = [];
    try {
      await db.transaction(() => {
        for (const { key: seq, value } of this.dead.getRange()) {
          const record = revive(this.readDeadLetter(seq, value), nextSeq());
          this.dead.remove(seq);
          this.tasks.put([record.key, record.seq], encodeRecord(record));
          revived.push(record);
        }
        const last = revived[revived.length - 1];
        if (last !== undefined) this.keepNextSeq(last.seq);
      });
    } catch (error) {
      return this.refused('cannot requeue the dead letters of', error);
    }
    return revived;
  }

  async purge(): Promise<number> {
    const db = this.writable();
    const count = this.tasks.getKeysCount() + this.dead.getKeysCount();
    try {
      await db.transaction(() => {
        this.tasks.clearSync();
        this.dead.clearSync();
      });
    } catch (error) {
      return this.refused('cannot purge', error);
    }
    return count;
  }

  saveBreaker(state: BreakerSnapshot): void {
    // A change after close (the breaker's last timer) has nowhere to go: the last one kept stands.
    if (this.root === undefined || this.readOnly || this.meta === undefined) return;
    this.background(writeBreaker(this.meta, state));
  }

  async flush(): Promise<void> {
    if (this.root === undefined || this.readOnly) return;
    try {
      await this.root.flushed;
    } catch (error) {
      return this.refused('cannot write to', error);
    }
  }

  stats(): BacklogStats {
    return countStats(this.tasks, this.dead);
  }

  list(options: { key?: string; limit?: number } = {}): BacklogRecord[] {
    return listTasks(this.tasks, options);
  }

  deadLetters(options: { limit?: number } = {}): DeadLetter[] {
    const letters: DeadLetter[] = [];
    for (const { key, value } of this.dead.getRange({ limit: options.limit })) {
      letters.push(this.readDeadLetter(key, value));
    }
    return letters;
  }

  /**
   * Closes the database and releases the lock, also after a refused commit:
   * that refusal was reported to the write that made it (a rejected append,
   * or `onWriteError`), so it neither fails nor holds up the close.
   */
  async close(): Promise<void> {
    const root = this.root;
    this.root = undefined;
    try {
      if (root !== undefined) {
        if (!this.readOnly) {
          await Promise.resolve(root.flushed).then(undefined, (error: unknown) => reasonOf(error));
        }
        await root.close();
      }
    } finally {
      this.releaseLock?.();
      this.releaseLock = undefined;
    }
  }

  /** The raw sub-databases, for tools and tests that must write bytes the store would not. */
  get raw(): { tasks: Database<string, TaskKey>; dead: Database<string, number> } {
    return { tasks: this.tasks, dead: this.dead };
  }

  /** Inside a commit's transaction: keeps the next seq past `seq` in `meta` (see {@link keepNextSeq}). */
  private keepNextSeq(seq: number): void {
    keepNextSeq(this.meta as Database<string, string>, seq);
  }

  private buryCorrupt(key: string, seq: number, raw: string, error: unknown): void {
    const letter = corruptLetter(seq, key, raw, (error as Error).message);
    if (!this.readOnly) this.bury(letter);
    this.hooks?.onCorrupt(letter);
  }

  private readDeadLetter(seq: number, value: string): DeadLetter {
    try {
      return decodeDeadLetter(seq, value);
    } catch (error) {
      return corruptLetter(seq, '', value, (error as Error).message);
    }
  }

  private writable(): RootDatabase {
    if (this.root === undefined)
      throw new BacklogError(this.location, `backlog ${this.location} is not open`);
    if (this.readOnly)
      throw new BacklogError(this.location, `backlog ${this.location} is open read-only`);
    return this.root;
  }

  private background(write: Promise<unknown>): void {
    write.then(undefined, (error: unknown) =>
      reasonOf(error).then((reason) =>
        this.hooks?.onWriteError(this.failure('cannot write to', reason)),
      ),
    );
  }

  /** Rejects with what a failed write failed for (see {@link reasonOf}), naming the store. */
  private async refused(what: string, error: unknown): Promise<never> {
    throw this.failure(what, await reasonOf(error));
  }

  private failure(what: string, error: unknown): BacklogError {
    const message = error instanceof Error ? error.message : String(error);
    return new BacklogError(this.location, `${what} backlog ${this.location}: ${message}`, {
      cause: error,
    });
  }
}
