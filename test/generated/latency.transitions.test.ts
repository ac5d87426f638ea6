import { latencyMachine } from '../../machines/projections/latency.machine.js';
import { describeGeneratedPaths, edgeCoveringPaths } from '../support/transition-coverage.js';

// No context, no payloads, no delays: the defaults describe the whole graph.
describeGeneratedPaths('latency', latencyMachine, [{ paths: edgeCoveringPaths(latencyMachine) }]);
