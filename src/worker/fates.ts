import type { BacklogRecord, DeadLetter } from '../backlog/types.js';
import type { Emitter } from '../Emitter.js';
import type { BacklogFullError } from '../errors/BacklogFullError.js';
import type { QueueOverflowError } from '../errors/QueueOverflowError.js';
import type { TaskTimeoutError } from '../errors/TaskTimeoutError.js';
import type { Logger } from '../logger.js';
import type { DurableTask, SyncTask } from '../task.js';
import type { FateTally } from './fateTally.js';
import type { SyncWorkerEvents } from './types.js';

const OWNER = 'SyncWorker';

/** A task of either kind, as fates are told to it. Only closure tasks have callbacks. */
type AnyTask = SyncTask | DurableTask;

/** The name a task goes by in log lines. */
function nameOf(task: AnyTask): string {
  return 'handler' in task ? task.handler : (task.name ?? 'sync');
}

/**
 * The telling of fates: the only place a task's callback is called, an event
 * emitted or a fate counted. Every task reaches exactly one of the methods
 * that end in a fate (`succeeded`, `failed`, `timedOut`, `dropped`,
 * `refused`, `buried`, `notKept`); `retried` and `runTimedOut` tell of a run,
 * not a fate. A callback or listener that throws is logged, never rethrown.
 */
export class Fates {
  /** Tasks that succeeded. */
  completed = 0;
  /** Accepted tasks that failed (drops not included). */
  failedCount = 0;
  /** Runs that timed out, retried durable runs included. */
  timedOutRuns = 0;
  /** Waiting tasks dropped by overflow. */
  droppedCount = 0;
  /** Tasks `enqueue` refused. */
  refusedCount = 0;
  /** Failed durable runs that were scheduled again. */
  retriedCount = 0;
  /** Durable tasks moved to the dead letters. */
  deadLetteredCount = 0;
  /**
   * The same fates per task name, only while a reader attached it (the
   * OpenTelemetry instrumentation); otherwise one field check per fate.
   */
  tally: FateTally | undefined = undefined;

  constructor(
    private readonly events: Emitter<SyncWorkerEvents>,
    private readonly logger: Logger,
    private readonly onDeadLetter: ((task: DurableTask, error: Error) => void) | undefined,
  ) {}

  succeeded(task: AnyTask, result: unknown, durationMs: number): void {
    this.completed++;
    if (this.tally !== undefined) this.tally.rowOf(task).succeeded++;
    const onSuccess = (task as SyncTask).onSuccess;
    if (onSuccess !== undefined) {
      try {
        onSuccess.call(task, result);
      } catch (error) {
        this.logger.error?.(`${OWNER}: onSuccess of task "${nameOf(task)}" threw`, error);
      }
    }
    if (this.events.has('taskSucceeded')) {
      this.events.emit('taskSucceeded', { task, result, durationMs });
    }
  }

  /**
   * An accepted task failed: its run's error, a fail-fast, a shutdown.
   * `durationMs`: how long its run took, absent when it failed without one.
   */
  failed(task: AnyTask, error: Error, durationMs?: number): void {
    this.failedCount++;
    if (this.tally !== undefined) this.tally.rowOf(task).failed++;
    this.tellFailed(task, error, durationMs);
  }

  /** Fails every task of `tasks` with its own error from `errorFor`. */
  failedAll(tasks: readonly AnyTask[], errorFor: () => Error): void {
    for (const task of tasks) this.failed(task, errorFor());
  }

  /** A run hit its deadline (its task's fate is told separately for durable tasks). */
  runTimedOut(): void {
    this.timedOutRuns++;
  }

  /** A closure task timed out: that is its fate. */
  timedOut(task: SyncTask, error: TaskTimeoutError, timeoutMs: number, durationMs: number): void {
    this.failedCount++;
    if (this.tally !== undefined) this.tally.rowOf(task).timedOut++;
    this.callFailure(task, error);
    if (this.events.has('taskTimedOut')) {
      this.events.emit('taskTimedOut', { task, error, timeoutMs, durationMs });
    }
  }

  /** The oldest waiting task made room for a new one. */
  dropped(task: SyncTask, error: QueueOverflowError): void {
    this.droppedCount++;
    if (this.tally !== undefined) this.tally.rowOf(task).dropped++;
    this.callFailure(task, error);
    if (this.events.has('taskDropped')) this.events.emit('taskDropped', { task, error });
  }

  /** `enqueue` refused the task; returns `false` for `enqueue` to return. */
  refused(task: AnyTask, error: Error): false {
    this.refusedCount++;
    if (this.tally !== undefined) this.tally.rowOf(task).refused++;
    this.callFailure(task, error);
    if (this.events.has('taskFailed')) {
      this.events.emit('taskFailed', { task, error, durationMs: undefined });
    }
    return false;
  }

  /** A durable task's run failed and it will run again after `delayMs`. */
  retried(task: DurableTask, error: Error, attempt: number, delayMs: number): void {
    this.retriedCount++;
    if (this.tally !== undefined) this.tally.rowOf(task).retried++;
    if (this.events.has('taskRetried')) {
      this.events.emit('taskRetried', { task, error, attempt, delayMs });
    }
  }

  /**
   * A durable task went to the dead letters: one `onDeadLetter` call and one
   * `taskFailed`, with its last run's `durationMs` when a run sent it there.
   */
  buried(letter: DeadLetter, error: Error, durationMs?: number): void {
    this.deadLetteredCount++;
    // A dead letter is also a failure in stats(), but its own fate per name.
    this.failedCount++;
    if (this.tally !== undefined) this.tally.rowOf(letter).deadLettered++;
    if (this.onDeadLetter !== undefined) {
      try {
        this.onDeadLetter(letter, error);
      } catch (thrown) {
        this.logger.error?.(`${OWNER}: onDeadLetter threw`, thrown);
      }
    }
    this.tellFailed(letter, error, durationMs);
  }

  /** A group commit failed: its tasks were not kept, and each gets `taskFailed` as its fate. */
  notKept(records: readonly BacklogRecord[], error: BacklogFullError): void {
    if (error.cause === undefined) this.logger.error?.(`${OWNER}: ${error.message}`);
    else this.logger.error?.(`${OWNER}: ${error.message}`, error.cause);
    for (const task of records) this.failed(task, error);
  }

  /** The callback and the `taskFailed` event of a failure already counted. */
  private tellFailed(task: AnyTask, error: Error, durationMs: number | undefined): void {
    this.callFailure(task, error);
    if (this.events.has('taskFailed')) this.events.emit('taskFailed', { task, error, durationMs });
  }

  private callFailure(task: AnyTask, error: Error): void {
    // Durable tasks are data: no callbacks; their fate is told by events.
    const onFailure = (task as SyncTask).onFailure;
    if (onFailure === undefined) return;
    try {
      onFailure.call(task, error);
    } catch (thrown) {
      this.logger.error?.(`${OWNER}: onFailure of task "${nameOf(task)}" threw`, thrown);
    }
  }
}
