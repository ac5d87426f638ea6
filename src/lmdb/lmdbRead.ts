import type { Database } from 'lmdb';
import { corruptLetter, decodeRecord } from '../backlog/record.js';
import type { BacklogOpened, BacklogRecord, BacklogStats } from '../backlog/types.js';
import { MAX_SEQ, type TaskKey } from './lmdbOpen.js';

/**
 * What a store holds when it opens: the keys with pending records, found by
 * jumping from key to key rather than reading every record, and the next seq.
 */
export function scanPending(
  tasks: Database<string, TaskKey>,
  dead: Database<string, number>,
): BacklogOpened {
  const pendingByKey = new Map<string, number>();
  let maxSeq = 0;
  let start: TaskKey | undefined;
  for (;;) {
    const first = firstOf(tasks.getKeys({ start, limit: 1 }));
    if (first === undefined) break;
    const key = first[0];
    pendingByKey.set(key, tasks.getKeysCount({ start: [key, 0], end: [key, MAX_SEQ] }));
    const last = firstOf(
      tasks.getKeys({ start: [key, MAX_SEQ], end: [key, 0], reverse: true, limit: 1 }),
    );
    maxSeq = Math.max(maxSeq, last?.[1] ?? 0);
    start = [key, MAX_SEQ];
  }
  const lastDead = firstOf(dead.getKeys({ reverse: true, limit: 1 }));
  maxSeq = Math.max(maxSeq, lastDead ?? 0);
  return { nextSeq: maxSeq + 1, pendingByKey, deadLetters: dead.getKeysCount() };
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
