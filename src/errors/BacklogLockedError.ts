import { BacklogError } from './BacklogError.js';

/** Who holds a lock, as far as its file says. */
export interface BacklogLockedDetails {
  /**
   * The lock is held by this same process: another worker here owns the
   * store, and `heldAs` is the path it opened it by (which may be another
   * spelling of the same directory, such as a symlink).
   */
  sameProcess?: boolean;
  /** The path the holder in this process opened the store by. */
  heldAs?: string;
  /** The host the lock file names, when it names another host than this one. */
  otherHost?: string;
  /** The lock file. */
  lockFile?: string;
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
   * The host the lock names when it is another host: there its process
   * cannot be checked, so the lock is honoured until removed by hand.
   */
  declare holderHost: string | undefined;
  /** The lock file, when known. */
  declare lockFile: string | undefined;
  /**
   * @param location the store's path
   * @param holderPid the process that holds the lock, when known
   * @param details whether that is this process, or a process on another host, and the lock file
   */
  constructor(location = 'unknown', holderPid?: number, details: BacklogLockedDetails = {}) {
    super(location, lockedMessage(location, holderPid, details));
    this.holderPid = holderPid;
    this.sameProcess = details.sameProcess === true;
    this.holderHost = details.otherHost;
    this.lockFile = details.lockFile;
  }
}

function lockedMessage(
  location: string,
  holderPid: number | undefined,
  { sameProcess, heldAs, otherHost, lockFile }: BacklogLockedDetails,
): string {
  const file = lockFile === undefined ? '' : ` (lock file ${lockFile})`;
  if (sameProcess) {
    const pid = holderPid === undefined ? '' : ` (pid ${holderPid})`;
    const as = heldAs === undefined ? '' : ` as ${heldAs}`;
    return `backlog ${location} is locked by this same process${pid}: a worker here already opened it${as}; one store has one owner`;
  }
  const who = holderPid === undefined ? 'another worker' : `process ${holderPid}`;
  if (otherHost !== undefined) {
    const remove = lockFile === undefined ? 'its lock file' : lockFile;
    return `backlog ${location} is locked by ${who} on host ${JSON.stringify(otherHost)}${file}. A process on another host cannot be checked from here, so its lock is honoured: if you know no worker runs there any more, delete ${remove} and start again`;
  }
  return `backlog ${location} is locked by ${who}${file}; one store has one owner: stop that worker first`;
}
