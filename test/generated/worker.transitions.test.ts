import { workerMachine } from '../../machines/worker.machine.js';
import { describeGeneratedPaths } from '../support/transition-coverage.js';
import { shutdownDeadlineMs, workerPaths } from './worker.paths.js';

describeGeneratedPaths('worker', workerMachine, [
  {
    // Context is only the deadline; it stays in the default serialization (bounded).
    paths: workerPaths,
    // Computed from the events, not read back from the machine's context.
    replay: { delays: { shutdownDeadline: (_, history) => shutdownDeadlineMs(history) } },
  },
]);
