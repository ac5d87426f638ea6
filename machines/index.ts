export { type BacklogEvent, backlogMachine } from './backlog.machine.js';
export {
  type BreakerContext,
  type BreakerEvent,
  type BreakerInput,
  type BreakerState,
  breakerMachine,
} from './breaker.machine.js';
export { type LatencyEvent, latencyMachine } from './latency.machine.js';
export { type Provision, type SystemInput, systemMachine } from './system.machine.js';
export {
  type WorkerContext,
  type WorkerEmitted,
  type WorkerEvent,
  workerMachine,
} from './worker.machine.js';
