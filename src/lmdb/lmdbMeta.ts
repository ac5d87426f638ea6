import type { Database } from 'lmdb';
import type { BreakerSnapshot } from '../breakerSnapshot.js';
import { NEXT_SEQ_KEY } from './lmdbRead.js';

/**
 * The store's `meta` database: small values beside the records, each under
 * its own key. The next seq is read back at open by `openSummary`.
 */

/** The key of the owning worker's breaker state. */
const BREAKER_KEY = 'breaker';

/**
 * Inside a commit's transaction: the next seq, past `seq`, kept with the
 * records so the next open need not look for it. A requeue may commit
 * before an older commit ends, so the summary only grows.
 */
export function keepNextSeq(meta: Database<string, string>, seq: number): void {
  if (Number(meta.get(NEXT_SEQ_KEY) ?? 0) <= seq) meta.put(NEXT_SEQ_KEY, String(seq + 1));
}

/** Writes the owning worker's breaker state (versioned); resolves when it is written. */
export function writeBreaker(
  meta: Database<string, string>,
  state: BreakerSnapshot,
): Promise<boolean> {
  return meta.put(BREAKER_KEY, JSON.stringify({ v: 1, ...state }));
}

/** The breaker's state as last saved, unparsed beyond JSON: the worker checks it. */
export function readBreaker(meta: Database<string, string> | undefined): unknown {
  const text = meta?.get(BREAKER_KEY);
  if (text === undefined) return undefined;
  try {
    const { v: _version, ...state } = JSON.parse(text) as Record<string, unknown>;
    return state;
  } catch {
    return text; // not JSON: the worker reports it and starts closed
  }
}
