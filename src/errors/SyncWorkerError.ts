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
 * A maker of errors of `ErrorClass` for the hot paths (overflow, refusal,
 * shutdown, timeout). It skips the stack capture that `new Error()` pays for:
 * about 2.7 µs with a stack and 0.35 µs even with `Error.stackTraceLimit = 0`,
 * against a few ns for this. Each call still makes its own instance; its
 * `stack` names the cause instead of frames, which would only show the
 * worker's internals anyway.
 *
 * Make one maker per class, once, at module load. Its constructor is a plain
 * function whose prototype is the class's, so V8 allocates every error at one
 * fixed shape: about half the time of `Object.create(prototype)` followed by
 * adding the message.
 */
export function cheapErrors<E extends SyncWorkerError>(
  ErrorClass: abstract new (...args: never[]) => E,
): (message: string) => E {
  // Not the class's own constructor: that one would capture a stack.
  function CheapError(this: { message: string }, message: string): void {
    this.message = message;
  }
  CheapError.prototype = ErrorClass.prototype;
  const Make = CheapError as unknown as new (message: string) => E;
  return (message) => new Make(message);
}

// Instances from cheapErrors have no own `stack`; this getter gives them
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
