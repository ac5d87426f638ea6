import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
import { BacklogError } from '../errors/BacklogError.js';
import { optionNames, refuseUnknownOptions } from '../optionNames.js';
import {
  loadLmdb,
  MAX_SEQ,
  type OpenLmdb,
  openHandles,
  reasonOf,
  type TaskKey,
} from './lmdbOpen.js';
import { countStats, listTasks, scanPending } from './lmdbRead.js';
import { acquireLock } from './lock.js';

/** Options of {@link lmdbBacklog}. */
export interface LmdbBacklogOptions {
  /** The store's directory; created if missing. It holds `backlog.mdb` and, while owned, `worker.lock`. */
  path: string;
  /**
   * Open for reading only: no lock is taken, so it works beside a running
   * worker (the CLI's `stats`, `list` and `export` do this). Writes throw.
   */
  readOnly?: boolean;
  /** LMDB's map size in bytes (its maximum file size). Default: LMDB's. */
  mapSize?: number;
}

const DATA_FILE = 'backlog.mdb';
/** Every option of {@link LmdbBacklogOptions}; one line per option. */
const OPTION_NAMES = optionNames<LmdbBacklogOptions>()(['path', 'readOnly', 'mapSize']);

/**
 * A backlog in an embedded LMDB database: ACID transactions, crash-safe
 * against torn writes, with ordered keys `[key, seq]` so each key's records
 * read back in order, and group commits. One worker owns a store at a time
 * (an exclusive lock file that a killed owner leaves stale, never binding).
 * Needs the optional peer dependency `lmdb`.
 */
export function lmdbBacklog(options: LmdbBacklogOptions): BacklogStore {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.path !== 'string' ||
    options.path === ''
  ) {
    throw new TypeError('lmdbBacklog: path must be a non-empty string');
  }
  refuseUnknownOptions('lmdbBacklog', options, OPTION_NAMES);
  return new LmdbBacklog(options, loadLmdb());
}

class LmdbBacklog implements BacklogStore {
  readonly location: string;
  private root: RootDatabase | undefined;
  private tasks!: Database<string, TaskKey>;
  private dead!: Database<string, number>;
  private hooks: BacklogHooks | undefined;
  private releaseLock: (() => void) | undefined;

  constructor(
    private readonly options: LmdbBacklogOptions,
    private readonly openLmdb: OpenLmdb,
  ) {
    this.location = resolve(options.path);
  }

  open(hooks: BacklogHooks): BacklogOpened {
    if (this.root !== undefined)
      throw new BacklogError(this.location, `backlog ${this.location} is already open`);
    this.hooks = hooks;
    this.prepareDirectory();
    if (!this.options.readOnly) this.releaseLock = acquireLock(this.location, this.location);
    try {
      this.openDatabase();
      return scanPending(this.tasks, this.dead);
    } catch (error) {
      this.releaseLock?.();
      if (error instanceof BacklogError) throw error;
      throw this.failure('cannot open', error);
    }
  }

  append(records: readonly BacklogRecord[]): Promise<void> {
    const db = this.writable();
    if (records.length === 0) return Promise.resolve();
    // Encoded now: the transaction's callback runs later, on lmdb's turn.
    const rows = records.map((record) => [[record.key, record.seq], encodeRecord(record)] as const);
    // One transaction, so a group commit is kept whole or not at all. Without
    // overlappingSync it resolves once durable (see OPEN_OPTIONS).
    return db
      .transaction(() => {
        for (const [key, value] of rows) this.tasks.put(key as TaskKey, value);
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

  async flush(): Promise<void> {
    if (this.root === undefined || this.options.readOnly) return;
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
        if (!this.options.readOnly) {
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

  private prepareDirectory(): void {
    if (this.options.readOnly) return;
    try {
      mkdirSync(this.location, { recursive: true });
    } catch (error) {
      throw this.failure('cannot create the directory of', error);
    }
  }

  private openDatabase(): void {
    const handles = openHandles(this.openLmdb, join(this.location, DATA_FILE), {
      readOnly: this.options.readOnly === true,
      mapSize: this.options.mapSize,
    });
    this.root = handles.root;
    this.tasks = handles.tasks;
    this.dead = handles.dead;
  }

  private buryCorrupt(key: string, seq: number, raw: string, error: unknown): void {
    const letter = corruptLetter(seq, key, raw, (error as Error).message);
    if (!this.options.readOnly) this.bury(letter);
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
    if (this.options.readOnly)
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
