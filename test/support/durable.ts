import { SimulatedClock } from 'xstate';
import {
  type BacklogStore,
  type DurableContext,
  type DurableTask,
  memoryBacklog,
  SyncWorker,
  type SyncWorkerOptions,
} from '../../src/index.js';
import { settled } from './tasks.js';

/** One call of a durable handler, as the remote saw it. */
export interface Call {
  payload: unknown;
  id: string;
  key: string;
  attempt: number;
}

/**
 * A remote service for durable tasks: it records every call, and `respond`
 * decides each call's outcome (return a value, throw, or return a promise the
 * test keeps). `delivered` lists the calls that succeeded, in order.
 */
export function scriptedRemote() {
  const calls: Call[] = [];
  const delivered: Call[] = [];
  let respond: (call: Call, context: DurableContext) => unknown = () => 'ok';
  const handler = async (payload: unknown, context: DurableContext) => {
    const call = { payload, id: context.id, key: context.key, attempt: context.attempt };
    calls.push(call);
    const result = await respond(call, context);
    delivered.push(call);
    return result;
  };
  return {
    handler,
    calls,
    delivered,
    /** Sets how later calls answer. */
    answer(next: (call: Call, context: DurableContext) => unknown) {
      respond = next;
    },
    /** Delivered payloads of `key`, in order. */
    deliveredOf(key: string) {
      return delivered.filter((c) => c.key === key).map((c) => c.payload);
    },
  };
}

/** A durable worker on a simulated clock with one handler, `write`, and a memory backlog. */
export function durableWorker(
  options: SyncWorkerOptions = {},
  backlog: BacklogStore = memoryBacklog(),
) {
  const clock = new SimulatedClock();
  const remote = scriptedRemote();
  const deadLetters: { task: DurableTask; error: Error }[] = [];
  const worker = new SyncWorker({
    clock,
    backlog,
    handlers: { write: remote.handler },
    retry: { baseMs: 100, maxMs: 1_000 },
    onDeadLetter: (task, error) => deadLetters.push({ task, error }),
    ...options,
  });
  return { worker, clock, backlog, remote, deadLetters };
}

/** Moves the simulated clock and lets the work it wakes run. */
export async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  clock.increment(ms);
  await settled();
  await settled();
}

/** A store that fails every group commit, for tests of what happens when it cannot keep tasks. */
export function failingStore(
  inner: BacklogStore,
  message = 'MDB_MAP_FULL: Environment mapsize limit reached',
): BacklogStore {
  return Object.assign(Object.create(inner) as BacklogStore, {
    append: () => Promise.reject(new Error(message)),
  });
}
