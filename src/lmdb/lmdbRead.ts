import type { Database } from 'lmdb';
import { corruptLetter, decodeRecord } from '../backlog/record.js';
import type { BacklogOpened, BacklogRecord, BacklogStats } from '../backlog/types.js';
import { MAX_SEQ, type TaskKey } from './lmdbOpen.js';

/** The key in the `meta` database of the next seq to hand out, kept with every commit. */
export const NEXT_SEQ_KEY = 'nextSeq';

/**
 * What a store holds when it opens, without reading its records or listing
 * its keys: the counts are LMDB's own (kept in each database's root), and the
 * next seq is the summary every commit keeps in `meta`. A store written
 * before that summary existed (or opened read-only without `meta`) finds its
 * next seq once by jumping from key to key (see {@link scanNextSeq}).
 */
export function openSummary(
  tasks: Database<string, TaskKey>,
  dead: Database<string, number>,
  meta: Database<string, string> | undefined,
): Omit<BacklogOpened, 'breaker'> {
  const kept = Number(meta?.get(NEXT_SEQ_KEY));
  const nextSeq = Number.isSafeInteger(kept) && kept > 0 ? kept : scanNextSeq(tasks, dead);
  return { nextSeq, pending: entriesOf(tasks), deadLetters: entriesOf(dead) };
}

/** One more than the largest seq kept, found with two reads per key instead of reading every record. */
export function scanNextSeq(
  tasks: Database<string, TaskKey>,
  dead: Database<string, number>,
): number {
  let maxSeq = firstOf(dead.getKeys({ reverse: true, limit: 1 })) ?? 0;
  for (let key = keyAfter(tasks, undefined); key !== undefined; key = keyAfter(tasks, key)) {
    const last = firstOf(
      tasks.getKeys({ start: [key, MAX_SEQ], end: [key, 0], reverse: true, limit: 1 }),
    );
    maxSeq = Math.max(maxSeq, last?.[1] ?? 0);
  }
  return maxSeq + 1;
}

/** The first key after `after` with records: one jump, to the first record past `after`'s last. */
export function keyAfter(
  tasks: Database<string, TaskKey>,
  after: string | undefined,
): string | undefined {
  const start: TaskKey | undefined = after === undefined ? undefined : [after, MAX_SEQ];
  return firstOf(tasks.getKeys({ start, limit: 1 }))?.[0];
}

/** The seq of `key`'s first record after `afterSeq`, read from its store key alone. */
export function firstSeq(
  tasks: Database<string, TaskKey>,
  key: string,
  afterSeq: number,
): number | undefined {
  return firstOf(tasks.getKeys({ start: [key, afterSeq + 1], end: [key, MAX_SEQ], limit: 1 }))?.[1];
}

function entriesOf(db: Database<string, TaskKey> | Database<string, number>): number {
  return (db.getStats() as { entryCount: number }).entryCount;
}

/** Counts per key and in total, and the oldest enqueue, reading every pending record. */
export function countStats(
  tasks: Database<string, TaskKey>,
  dead: Database<string, number>,
): BacklogStats {
  const byKey: Record<string, number> = {};
  let pending = 0;
  let oldestEnqueuedAt: number | undefined;
  for (const { key, value } of tasks.getRange()) {
    byKey[key[0]] = (byKey[key[0]] ?? 0) + 1;
    pending++;
    const at = enqueuedAtOf(value);
    if (at !== undefined) oldestEnqueuedAt = Math.min(oldestEnqueuedAt ?? at, at);
  }
  return { pending, deadLetters: dead.getKeysCount(), byKey, oldestEnqueuedAt };
}

/**
 * Pending records, oldest first, optionally of one key. A record that does not
 * decode is listed as the dead letter it would become, so tools still show it.
 */
export function listTasks(
  tasks: Database<string, TaskKey>,
  options: { key?: string; limit?: number },
): BacklogRecord[] {
  const range =
    options.key === undefined
      ? tasks.getRange()
      : tasks.getRange({ start: [options.key, 0], end: [options.key, MAX_SEQ] });
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
