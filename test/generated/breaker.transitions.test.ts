import { breakerMachine } from '../../machines/breaker.machine.js';
import { describeGeneratedPaths } from '../support/transition-coverage.js';
import { breakerInput, breakerPaths, permitTimeoutMs } from './breaker.paths.js';

describeGeneratedPaths('breaker', breakerMachine, [
  {
    paths: breakerPaths,
    replay: {
      input: breakerInput,
      delays: {
        probeInterval: breakerInput.probeIntervalMs,
        probeTimeout: (_, history) => permitTimeoutMs(history),
      },
    },
  },
]);
