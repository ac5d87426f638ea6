import { BacklogError } from './BacklogError.js';

/** The store refused to keep a durable task (it is full, or its writes fail). */
export class BacklogFullError extends BacklogError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    BacklogFullError.prototype.name = 'BacklogFullError';
  }
}
