import { SyncWorkerError } from './SyncWorkerError.js';

/** The task waited in a full queue and was dropped, oldest first, to make room for a newer one. */
export class QueueOverflowError extends SyncWorkerError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    QueueOverflowError.prototype.name = 'QueueOverflowError';
  }
  constructor(message = 'sync queue overflow: oldest waiting task dropped') {
    super(message);
  }
}
