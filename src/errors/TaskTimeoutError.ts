import { SyncWorkerError } from './SyncWorkerError.js';

/** The task did not settle within its timeout; its signal was aborted with this error. */
export class TaskTimeoutError extends SyncWorkerError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    TaskTimeoutError.prototype.name = 'TaskTimeoutError';
  }
  /** The timeout the task ran under, in milliseconds. */
  declare timeoutMs: number;
  constructor(timeoutMs = 0, message = `task timed out after ${timeoutMs} ms`) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}
