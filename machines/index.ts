export {
  type BreakerContext,
  type BreakerEvent,
  type BreakerInput,
  type BreakerStart,
  type BreakerState,
  breakerMachine,
} from './breaker.machine.js';
export { type BacklogEvent, backlogMachine } from './projections/backlog.machine.js';
export { type LatencyEvent, latencyMachine } from './projections/latency.machine.js';
export { type Provision, type SystemInput, systemMachine } from './system.machine.js';
export {
  type WorkerContext,
  type WorkerEvent,
  workerMachine,
} from './worker.machine.js';
