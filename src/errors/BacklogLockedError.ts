import { BacklogError } from './BacklogError.js';

/** Where the holder of a lock is, when it is this process. */
export interface BacklogLockedDetails {
  /**
   * The lock is held by this same process: another worker here owns the
   * store, and `heldAs` is the path it opened it by (which may be another
   * spelling of the same directory, such as a symlink).
   */
  sameProcess?: boolean;
  /** The path the holder in this process opened the store by. */
  heldAs?: string;
}

/** Another live worker holds the backlog store's lock: one store, one owner. */
export class BacklogLockedError extends BacklogError {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    BacklogLockedError.prototype.name = 'BacklogLockedError';
  }
  /** The process id recorded in the lock, when known. */
  declare holderPid: number | undefined;
  /** Whether the holder is a worker in this same process. */
  declare sameProcess: boolean;
  /**
   * @param location the store's path
   * @param holderPid the process that holds the lock, when known
   * @param details whether that is this process, and by which path it opened the store
   */
  constructor(location = 'unknown', holderPid?: number, details: BacklogLockedDetails = {}) {
    super(location, lockedMessage(location, holderPid, details));
    this.holderPid = holderPid;
    this.sameProcess = details.sameProcess === true;
  }
}

function lockedMessage(
  location: string,
  holderPid: number | undefined,
  { sameProcess, heldAs }: BacklogLockedDetails,
): string {
  if (sameProcess) {
    const pid = holderPid === undefined ? '' : ` (pid ${holderPid})`;
    const as = heldAs === undefined ? '' : ` as ${heldAs}`;
    return `backlog ${location} is locked by this same process${pid}: a worker here already opened it${as}; one store has one owner`;
  }
  const who = holderPid === undefined ? 'another worker' : `process ${holderPid}`;
  return `backlog ${location} is locked by ${who}; one store has one owner`;
}
