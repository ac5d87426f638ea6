/**
 * Fates counted per task name (a durable task's handler, a closure task's
 * `name`), kept only while something reads them (`xstate-sync-worker/otel`):
 * an uninstrumented worker pays one field check per fate and nothing more.
 */

/** The value every name past the cap is counted under (OpenTelemetry's convention for an overflow value). */
export const OTHER_TASK_NAME = '_OTHER';

/** The counts of one name; the fates are disjoint, so they add up to the tasks that reached one. */
export interface FateRow {
  /** The task name, or {@link OTHER_TASK_NAME}. */
  readonly name: string;
  succeeded: number;
  /** Failed for any reason but those below: an error, a fail-fast, shutdown, a refused commit. */
  failed: number;
  /** Closure tasks whose run timed out (a durable task's timed-out run is retried or buried). */
  timedOut: number;
  dropped: number;
  refused: number;
  deadLettered: number;
  /** Durable runs that failed and were scheduled again: runs, not fates. */
  retried: number;
  /** Whatever the reader caches for this name (its metric attributes), so a run costs no lookup of its own. */
  memo: unknown;
}

function emptyRow(name: string): FateRow {
  return {
    name,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    dropped: 0,
    refused: 0,
    deadLettered: 0,
    retried: 0,
    memo: undefined,
  };
}

/** A task as the fates see it: durable tasks have `handler`, closure tasks may have `name`. */
type Named = { handler?: string; name?: string };

/**
 * Per-name fate counts with a bound on the names: the first `maxNames`
 * distinct names get their own row, and every later one is counted in the
 * {@link OTHER_TASK_NAME} row, so a producer that puts ids in names cannot grow
 * memory or a metrics backend's series without limit.
 */
export class FateTally {
  private readonly byName = new Map<string, FateRow>();
  /** Where names past the cap are counted. */
  readonly other: FateRow = emptyRow(OTHER_TASK_NAME);
  private folded = false;

  constructor(readonly maxNames: number) {}

  /** The row a task's fate is counted in. */
  rowOf(task: object): FateRow {
    const t = task as Named;
    return this.rowNamed(t.handler ?? t.name ?? 'sync');
  }

  /** The row of `name`: its own while there is room, the shared {@link other} row after. */
  rowNamed(name: string): FateRow {
    const row = this.byName.get(name);
    if (row !== undefined) return row;
    if (this.byName.size >= this.maxNames) {
      this.folded = true;
      return this.other;
    }
    const added = emptyRow(name);
    this.byName.set(name, added);
    return added;
  }

  /** Every row with counts: one per name seen, then {@link other} if a name was folded into it. */
  *rows(): IterableIterator<FateRow> {
    yield* this.byName.values();
    if (this.folded) yield this.other;
  }
}
