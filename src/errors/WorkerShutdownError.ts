import { SyncWorkerError } from './SyncWorkerError.js';

/** The worker is shutting down: the task was refused, or still unfinished at the shutdown deadline. */
export class WorkerShutdownError extends SyncWorkerError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    WorkerShutdownError.prototype.name = 'WorkerShutdownError';
  }
  constructor(message = 'sync worker is shutting down') {
    super(message);
  }
}
