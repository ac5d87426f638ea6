import type { Attributes } from '@opentelemetry/api';
import { type FateRow, OTHER_TASK_NAME } from '../worker/fateTally.js';

/** The attribute keys the instruments use. */
export const ATTR = {
  worker: 'sync_worker.name',
  /** The task's handler (durable) or `name` (closure), bounded: never an id or a key. */
  destination: 'messaging.destination.name',
  fate: 'sync_worker.task.fate',
  kind: 'sync_worker.task.kind',
  breakerState: 'sync_worker.breaker.state',
  lifecycleState: 'sync_worker.lifecycle.state',
  system: 'messaging.system',
  operation: 'messaging.operation.name',
  errorType: 'error.type',
} as const;

/** The values of `sync_worker.task.fate`, with the tally's field each reads. */
export const FATES = [
  ['succeeded', 'succeeded'],
  ['failed', 'failed'],
  ['timed_out', 'timedOut'],
  ['dropped', 'dropped'],
  ['refused', 'refused'],
  ['dead_lettered', 'deadLettered'],
] as const satisfies readonly (readonly [string, keyof FateRow])[];

/** Most distinct `error.type` values per instrumentation; the rest are `_OTHER`. */
export const MAX_ERROR_TYPES = 32;

/**
 * The attribute sets of one task name, built the first time the name is
 * seen and kept on its tally row, so recording a run allocates none.
 */
export interface NameAttributes {
  /** One per entry of {@link FATES}, in order. */
  fates: Attributes[];
  retries: Attributes;
  /** A run that succeeded. */
  run: Attributes;
  /** A run that failed, by `error.type`. */
  failedRun: Map<string, Attributes>;
}

/** The attribute sets of `row`'s name, made and kept on the row on first use. */
export function attributesOf(row: FateRow, base: Attributes): NameAttributes {
  const kept = row.memo as NameAttributes | undefined;
  if (kept !== undefined) return kept;
  const named = { ...base, [ATTR.destination]: row.name };
  const made: NameAttributes = {
    fates: FATES.map(([fate]) => ({ ...named, [ATTR.fate]: fate })),
    retries: named,
    run: { ...named, [ATTR.system]: 'xstate-sync-worker', [ATTR.operation]: 'process' },
    failedRun: new Map(),
  };
  row.memo = made;
  return made;
}

/** The attributes of a failed run of `row`'s name with an error of type `errorType`. */
export function failedRunAttributes(names: NameAttributes, errorType: string): Attributes {
  let attributes = names.failedRun.get(errorType);
  if (attributes === undefined) {
    attributes = { ...names.run, [ATTR.errorType]: errorType };
    names.failedRun.set(errorType, attributes);
  }
  return attributes;
}

/**
 * `error.type` of an error: its `name` (`TaskTimeoutError`, `TypeError`, a
 * class of your own), among the first {@link MAX_ERROR_TYPES} seen, else `_OTHER`.
 */
export function errorTypes(): (error: Error) => string {
  const seen = new Set<string>();
  return (error) => {
    const name = typeof error.name === 'string' && error.name !== '' ? error.name : 'Error';
    if (seen.has(name)) return name;
    if (seen.size >= MAX_ERROR_TYPES) return OTHER_TASK_NAME;
    seen.add(name);
    return name;
  };
}
