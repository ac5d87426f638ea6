import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
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

type TaskKey = [string, number];
type OpenLmdb = typeof import('lmdb').open;

/**
 * Loads `lmdb` when a store is first made, so that a missing optional peer
 * dependency gives an error that says what to install, not a failed import.
 */
function loadLmdb(): OpenLmdb {
  try {
    return (createRequire(import.meta.url)('lmdb') as { open: OpenLmdb }).open;
  } catch (error) {
    throw new BacklogError(
      'lmdb',
      "lmdbBacklog needs the optional peer dependency lmdb: run 'npm install lmdb'",
      { cause: error },
    );
  }
}
const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const LOCK_FILE = 'worker.lock';
const DATA_FILE = 'backlog.mdb';

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
    if (!this.options.readOnly)
      this.releaseLock = acquireLock(join(this.location, LOCK_FILE), this.location);
    try {
      this.openDatabase();
      return this.scan();
    } catch (error) {
      this.releaseLock?.();
      if (error instanceof BacklogError) throw error;
      throw this.failure('cannot open', error);
    }
  }

  append(records: readonly BacklogRecord[]): Promise<void> {
    const db = this.writable();
    let last: Promise<boolean> | undefined;
    for (const record of records)
      last = this.tasks.put([record.key, record.seq], encodeRecord(record));
    if (last === undefined) return Promise.resolve();
    return last
      .then(() => db.flushed)
      .then(
        () => undefined,
        (error: unknown) => Promise.reject(this.failure('cannot write to', error)),
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
    await db.transaction(() => {
      for (const { key: seq, value } of this.dead.getRange()) {
        const record = revive(this.readDeadLetter(seq, value), nextSeq());
        this.dead.remove(seq);
        this.tasks.put([record.key, record.seq], encodeRecord(record));
        revived.push(record);
      }
    });
    await db.flushed;
    return revived;
  }

  async purge(): Promise<number> {
    const db = this.writable();
    const count = this.tasks.getKeysCount() + this.dead.getKeysCount();
    await db.transaction(() => {
      this.tasks.clearSync();
      this.dead.clearSync();
    });
    await db.flushed;
    return count;
  }

  async flush(): Promise<void> {
    if (this.root !== undefined && !this.options.readOnly) await this.root.flushed;
  }

  stats(): BacklogStats {
    const byKey: Record<string, number> = {};
    let pending = 0;
    let oldestEnqueuedAt: number | undefined;
    for (const { key, value } of this.tasks.getRange()) {
      byKey[key[0]] = (byKey[key[0]] ?? 0) + 1;
      pending++;
      const at = enqueuedAtOf(value);
      if (at !== undefined) oldestEnqueuedAt = Math.min(oldestEnqueuedAt ?? at, at);
    }
    return { pending, deadLetters: this.dead.getKeysCount(), byKey, oldestEnqueuedAt };
  }

  list(options: { key?: string; limit?: number } = {}): BacklogRecord[] {
    const range =
      options.key === undefined
        ? this.tasks.getRange()
        : this.tasks.getRange({ start: [options.key, 0], end: [options.key, MAX_SEQ] });
    const all: BacklogRecord[] = [];
    for (const { key, value } of range) {
      try {
        all.push(decodeRecord(key[1], value));
      } catch (error) {
        all.push(corruptLetter(key[1], key[0], value, (error as Error).message));
      }
    }
    all.sort((a, b) => a.seq - b.seq);
    return options.limit === undefined ? all : all.slice(0, options.limit);
  }

  deadLetters(options: { limit?: number } = {}): DeadLetter[] {
    const letters: DeadLetter[] = [];
    for (const { key, value } of this.dead.getRange({ limit: options.limit })) {
      letters.push(this.readDeadLetter(key, value));
    }
    return letters;
  }

  async close(): Promise<void> {
    const root = this.root;
    this.root = undefined;
    try {
      if (root !== undefined) {
        if (!this.options.readOnly) await root.flushed;
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
    const root = this.openLmdb({
      path: join(this.location, DATA_FILE),
      maxDbs: 4,
      readOnly: this.options.readOnly === true,
      mapSize: this.options.mapSize,
    });
    this.root = root;
    this.tasks = root.openDB<string, TaskKey>({ name: 'tasks', encoding: 'string' });
    this.dead = root.openDB<string, number>({ name: 'dead', encoding: 'string' });
  }

  /** Finds the keys with pending records by jumping from key to key, not by reading every record. */
  private scan(): BacklogOpened {
    const pendingByKey = new Map<string, number>();
    let maxSeq = 0;
    let start: TaskKey | undefined;
    for (;;) {
      const first = firstOf(this.tasks.getKeys({ start, limit: 1 }));
      if (first === undefined) break;
      const key = first[0];
      pendingByKey.set(key, this.tasks.getKeysCount({ start: [key, 0], end: [key, MAX_SEQ] }));
      const last = firstOf(
        this.tasks.getKeys({ start: [key, MAX_SEQ], end: [key, 0], reverse: true, limit: 1 }),
      );
      maxSeq = Math.max(maxSeq, last?.[1] ?? 0);
      start = [key, MAX_SEQ];
    }
    const lastDead = firstOf(this.dead.getKeys({ reverse: true, limit: 1 }));
    maxSeq = Math.max(maxSeq, lastDead ?? 0);
    return { nextSeq: maxSeq + 1, pendingByKey, deadLetters: this.dead.getKeysCount() };
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
      this.hooks?.onWriteError(this.failure('cannot write to', error)),
    );
  }

  private failure(what: string, error: unknown): BacklogError {
    const message = error instanceof Error ? error.message : String(error);
    return new BacklogError(this.location, `${what} backlog ${this.location}: ${message}`, {
      cause: error,
    });
  }
}

function firstOf<T>(iterable: Iterable<T>): T | undefined {
  for (const item of iterable) return item;
  return undefined;
}

function enqueuedAtOf(value: string): number | undefined {
  try {
    const at = (JSON.parse(value) as { enqueuedAt?: unknown }).enqueuedAt;
    return typeof at === 'number' ? at : undefined;
  } catch {
    return undefined;
  }
}
