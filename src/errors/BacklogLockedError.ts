import { BacklogError } from './BacklogError.js';

/** Another live worker holds the backlog store's lock: one store, one owner. */
export class BacklogLockedError extends BacklogError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    BacklogLockedError.prototype.name = 'BacklogLockedError';
  }
  /** The process id recorded in the lock, when known. */
  declare holderPid: number | undefined;
  /**
   * @param location the store's path
   * @param holderPid the process that holds the lock, when known
   */
  constructor(location = 'unknown', holderPid?: number) {
    const who = holderPid === undefined ? 'another worker' : `process ${holderPid}`;
    super(location, `backlog ${location} is locked by ${who}; one store has one owner`);
    this.holderPid = holderPid;
  }
}
