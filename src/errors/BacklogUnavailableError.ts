import { BacklogError } from './BacklogError.js';

/**
 * A shared backlog's server could not be reached (restart, network cut,
 * refused connection). Thrown by a shared store's operations; a worker waits
 * it out, and after `unavailableMs` fails the tasks still waiting in memory
 * with it, and refuses `enqueue` with it until the store answers again.
 */
export class BacklogUnavailableError extends BacklogError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    BacklogUnavailableError.prototype.name = 'BacklogUnavailableError';
  }
  /**
   * @param location the store's location (its URL without the password)
   * @param message what failed; `options.cause` keeps the driver's error
   */
  constructor(
    location = 'unknown',
    message = `backlog ${location} is unreachable`,
    options?: { cause?: unknown },
  ) {
    super(location, message, options);
  }
}
