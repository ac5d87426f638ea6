import { SimulatedClock } from 'xstate';
import { SyncWorker, type SyncWorkerOptions } from '../../src/index.js';

/** A worker on a simulated clock, so timeouts and breaker timers move only when the test says. */
export function simulatedWorker(options: SyncWorkerOptions = {}) {
  const clock = new SimulatedClock();
  const worker = new SyncWorker({ clock, ...options });
  return { worker, clock };
}
