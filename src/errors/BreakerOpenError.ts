import { SyncWorkerError } from './SyncWorkerError.js';

/**
 * A call or task was refused because the circuit breaker is open. `execute`
 * refuses with the subclass `BreakerHalfOpenError` while the half-open probe is in flight.
 */
export class BreakerOpenError extends SyncWorkerError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    BreakerOpenError.prototype.name = 'BreakerOpenError';
  }
  constructor(message = 'circuit breaker open') {
    super(message);
  }
}
