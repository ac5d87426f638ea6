import { workerMachine } from '../../machines/worker.machine.js';
import {
  describeGeneratedPaths,
  edgeCoveringPaths,
  lastEventField,
} from '../support/transition-coverage.js';

/** Two shutdown deadlines, so a wrong deadline cannot pass by coincidence. */
const deadlinesMs = [3000, 250] as const;
const flags = [false, true] as const;

describeGeneratedPaths('worker', workerMachine, [
  {
    // Context is only the deadline; it stays in the default serialization (bounded).
    paths: edgeCoveringPaths(workerMachine, {
      samples: {
        SHUTDOWN: deadlinesMs.flatMap((timeoutMs) =>
          flags.map((nothingToDrain) => ({ type: 'SHUTDOWN', timeoutMs, nothingToDrain }) as const),
        ),
        NOTHING_RUNNABLE: flags.map((retryPending) => ({ type: 'NOTHING_RUNNABLE', retryPending })),
        PERMIT_DENIED: flags.map((closureWaiting) => ({ type: 'PERMIT_DENIED', closureWaiting })),
      },
    }),
    replay: {
      // Computed from the events, not read back from the machine's context.
      delays: {
        shutdownDeadline: (_, history) => {
          const ms = lastEventField(history, 'SHUTDOWN', 'timeoutMs');
          if (ms === undefined) throw new Error('deadline reached with no SHUTDOWN sent');
          return ms;
        },
      },
    },
  },
]);
