import { SyncWorkerError } from './SyncWorkerError.js';

/** A backlog store could not be opened or written. `location` names the store (its path). */
export class BacklogError extends SyncWorkerError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    BacklogError.prototype.name = 'BacklogError';
  }
  /** The store's path, or `"memory"`. */
  declare location: string;
  /**
   * @param location the store's path, or `"memory"`
   * @param message what went wrong; `options.cause` keeps the underlying error
   */
  constructor(
    location = 'unknown',
    message = `backlog ${location} failed`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.location = location;
  }
}
