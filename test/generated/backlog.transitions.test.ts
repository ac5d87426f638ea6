import { backlogMachine } from '../../machines/projections/backlog.machine.js';
import { describeGeneratedPaths, edgeCoveringPaths } from '../support/transition-coverage.js';

// No context and no delays; a batch's size steers no transition, so one sample covers it.
describeGeneratedPaths('backlog', backlogMachine, [
  {
    paths: edgeCoveringPaths(backlogMachine, {
      samples: { BATCH_STARTED: [{ type: 'BATCH_STARTED', size: 1 }] },
    }),
  },
]);
