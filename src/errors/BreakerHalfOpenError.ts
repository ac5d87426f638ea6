import { BreakerOpenError } from './BreakerOpenError.js';

/**
 * A call was refused because the breaker is half-open and its one probe is
 * already in flight. A subclass of {@link BreakerOpenError}, so code that
 * catches refusals keeps working; the class and message tell a caller that the
 * remote is being tested right now, not written off.
 */
export class BreakerHalfOpenError extends BreakerOpenError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    BreakerHalfOpenError.prototype.name = 'BreakerHalfOpenError';
  }
  constructor(message = 'circuit breaker half-open: its one probe is in flight') {
    super(message);
  }
}
