import { BreakerOpenError } from '../errors/BreakerOpenError.js';
import { cheapErrors } from '../errors/SyncWorkerError.js';
import { WorkerShutdownError } from '../errors/WorkerShutdownError.js';

/**
 * The errors of tasks the worker refuses or fails fast. Built without a stack
 * (`cheapErrors`): a refusal is routine under an outage, and a stack
 * per refused task would cost more than the rest of `enqueue`.
 */

const newBreakerOpen = cheapErrors(BreakerOpenError);
const newShuttingDown = cheapErrors(WorkerShutdownError);

/** The breaker is open: the task is refused, or failed fast while it waited. */
export const breakerOpen = (): BreakerOpenError => newBreakerOpen('circuit breaker open');

/** `shutdown()` has been called: new tasks are refused. */
export const shuttingDown = (): WorkerShutdownError =>
  newShuttingDown('sync worker is shutting down');
