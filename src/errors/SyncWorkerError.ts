/**
 * Base class of every error this library creates, so callers can tell them
 * apart from errors thrown by their own tasks with one `instanceof` check.
 */
export class SyncWorkerError extends Error {
  static {
    // On the prototype, so errors built without the constructor carry it too.
    SyncWorkerError.prototype.name = 'SyncWorkerError';
  }
}

/**
 * Errors made on the hot paths (overflow, refusal, shutdown, timeout) skip the
 * stack capture that `new Error()` pays for: about 2.7 µs with a stack and
 * 0.35 µs even with `Error.stackTraceLimit = 0`, against 8 ns for this. Each task
 * still gets its own instance; its `stack` names the cause instead of frames,
 * which would only show the worker's internals anyway.
 */
export function createCheapError<E extends SyncWorkerError>(
  ErrorClass: abstract new (...args: never[]) => E,
  message: string,
  fields?: Partial<E>,
): E {
  const error = Object.create(ErrorClass.prototype) as E;
  error.message = message;
  if (fields !== undefined) Object.assign(error, fields);
  return error;
}

// Instances from createCheapError have no own `stack`; this getter gives them
// one that explains itself. Instances built with `new` keep their real stack.
Object.defineProperty(SyncWorkerError.prototype, 'stack', {
  configurable: true,
  get(this: SyncWorkerError): string {
    return `${this.name}: ${this.message}\n    (raised by xstate-sync-worker; no call stack is captured on this path)`;
  },
  set(this: SyncWorkerError, value: string) {
    Object.defineProperty(this, 'stack', { value, writable: true, configurable: true });
  },
});
