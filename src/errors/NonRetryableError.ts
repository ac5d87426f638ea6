import { SyncWorkerError } from './SyncWorkerError.js';

/**
 * Thrown by a durable task's handler to say that trying again cannot help (a
 * 400 Bad Request, say): the task goes straight to the dead letters.
 */
export class NonRetryableError extends SyncWorkerError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    NonRetryableError.prototype.name = 'NonRetryableError';
  }
  /** @param message what went wrong; `options.cause` keeps the underlying error. */
  constructor(message = 'the task failed and must not be retried', options?: { cause?: unknown }) {
    super(message, options);
  }
}
