/**
 * The worker lifecycle's generated paths, shared by the machine-level test
 * (`worker.transitions.test.ts`, every sample everywhere) and the one through
 * `SyncWorker` (`test/runtime/worker.runtime.test.ts`, only the facts a
 * runtime can have in each state).
 */
import type { EventObject, SnapshotFrom } from 'xstate';
import { type WorkerEvent, workerMachine } from '../../machines/worker.machine.js';
import { edgeCoveringPaths, lastEventField } from '../support/transition-coverage.js';

/** Two shutdown deadlines, so a wrong deadline cannot pass by coincidence. */
export const deadlinesMs = [3000, 250] as const;
const flags = [false, true] as const;

/** Every fact the events can carry. */
export const workerSamples = {
  SHUTDOWN: deadlinesMs.flatMap((timeoutMs) =>
    flags.map((nothingToDrain) => ({ type: 'SHUTDOWN', timeoutMs, nothingToDrain }) as const),
  ),
  NOTHING_RUNNABLE: flags.map(
    (retryPending) => ({ type: 'NOTHING_RUNNABLE', retryPending }) as const,
  ),
  PERMIT_DENIED: flags.map(
    (closureWaiting) => ({ type: 'PERMIT_DENIED', closureWaiting }) as const,
  ),
};

/** The shutdown deadline of a path so far, from its last SHUTDOWN. */
export function shutdownDeadlineMs(history: readonly EventObject[]): number {
  const ms = lastEventField(history, 'SHUTDOWN', 'timeoutMs');
  if (ms === undefined) throw new Error('deadline reached with no SHUTDOWN sent');
  return ms;
}

/** Edge-covering paths over every sample: what the machine itself can do. */
export const workerPaths = edgeCoveringPaths(workerMachine, { samples: workerSamples });

type Snapshot = SnapshotFrom<typeof workerMachine>;

/**
 * Whether the runtime can send `event` in `snapshot`, so the driver through
 * `SyncWorker` gets only paths it can bring about:
 * - an idle or backing-off drain has nothing to drain: a SHUTDOWN there says so;
 * - with admission open, the driver blocks a drain on a closure task (a
 *   half-open permit held elsewhere), so PERMIT_DENIED says a closure waits,
 *   and a SHUTDOWN of a blocked drain has something to drain;
 * - with admission closed no closure can be enqueued to block on: the driver
 *   blocks on kept durable tasks (an open breaker), which ends the worker.
 * Each rule removes only samples whose transition another sample takes too.
 */
export function runtimeCanSend(snapshot: Snapshot, event: WorkerEvent): boolean {
  const open = snapshot.matches({ active: { admission: 'open' } });
  if (event.type === 'SHUTDOWN') {
    if (snapshot.matches({ active: { drain: 'idle' } })) return event.nothingToDrain;
    if (snapshot.matches({ active: { drain: 'backoff' } })) return event.nothingToDrain;
    if (snapshot.matches({ active: { drain: 'blocked' } })) return !event.nothingToDrain;
  }
  if (event.type === 'PERMIT_DENIED') return event.closureWaiting === open;
  return true;
}

/** Edge-covering paths over the facts a runtime can send: what `SyncWorker` is driven along. */
export const workerRuntimePaths = edgeCoveringPaths(workerMachine, {
  samples: workerSamples,
  allowEvent: runtimeCanSend,
});
