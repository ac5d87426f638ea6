import { breakerMachine } from '../../machines/breaker.machine.js';
import { describeGeneratedPaths } from '../support/transition-coverage.js';
import { breakerSuites, permitTimeoutMs } from './breaker.paths.js';

describeGeneratedPaths(
  'breaker',
  breakerMachine,
  breakerSuites.map(({ label, input, paths, openPeriodMs }) => ({
    label,
    paths,
    replay: {
      input,
      delays: {
        probeInterval: (_, history) => openPeriodMs(history),
        probeTimeout: (_, history) => permitTimeoutMs(history),
      },
    },
  })),
);
