import { type Clock, systemClock } from '../clock.js';
import type { Emitter, Unsubscribe } from '../Emitter.js';
import type { Logger } from '../logger.js';
import { MAX_DELAY_MS } from '../validate.js';
import type { WorkerParts } from './collaborators.js';
import type { LifecycleHost } from './lifecycle.js';
import type { SyncWorkerActor, SyncWorkerEvents, WorkerState } from './types.js';

/**
 * Keeps a Node process alive until the returned function is called: the one
 * timer of the library that is not unref'd. A pending `await shutdown()` is
 * a promise, not a handle, so with every other timer unref'd Node would exit
 * before the shutdown deadline (code 13, the store still locked). In a
 * browser it only costs a timer.
 */
function holdProcessOpen(): () => void {
  const timer = setTimeout(() => {}, MAX_DELAY_MS);
  return () => clearTimeout(timer);
}

/**
 * What the lifecycle machine's actions do to a worker's parts, and the
 * promise `shutdown()` returns, which `release` settles. A class, not an
 * object of arrow functions: per worker that saves a closure per effect.
 */
export class WorkerEffects implements LifecycleHost {
  /** The worker's parts and root actor: set once by {@link connect}, before any effect runs. */
  private parts: WorkerParts | undefined;
  private root: SyncWorkerActor | undefined;
  private detachBreaker: Unsubscribe | undefined;
  // Set by the first release; the machine runs it once, this guards a second call all the same.
  private released = false;
  // Created by the first shutdown() call; the lifecycle machine holds the shutdown itself.
  private shutdownPromise: Promise<void> | undefined;
  private resolveShutdown: (() => void) | undefined;

  /**
   * @param clock the worker's clock: on the default one (real time), a shutdown
   *   in progress holds the process open until it resolves; your own clock's
   *   timers are yours to ref or unref.
   */
  constructor(
    private readonly events: Emitter<SyncWorkerEvents>,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** Connects the parts, built after the lifecycle bridge that calls these effects. */
  connect(parts: WorkerParts, root: SyncWorkerActor, detachBreaker: Unsubscribe | undefined): void {
    this.parts = parts;
    this.root = root;
    this.detachBreaker = detachBreaker;
  }

  /** The promise `shutdown()` returns, and whether this call made it (the first). */
  shutdownRequested(): { promise: Promise<void>; first: boolean } {
    if (this.shutdownPromise !== undefined) return { promise: this.shutdownPromise, first: false };
    const letGo = this.clock === systemClock ? holdProcessOpen() : undefined;
    this.shutdownPromise = new Promise((resolve) => {
      this.resolveShutdown = () => {
        letGo?.();
        resolve();
      };
    });
    return { promise: this.shutdownPromise, first: true };
  }

  startDraining(): void {
    this.parts?.drain.schedule();
  }

  abandonRemaining(): void {
    this.parts?.drain.abandonRemaining();
  }

  stateChanged(from: WorkerState, to: WorkerState): void {
    this.events.emit('stateChange', { from, to });
  }

  /** The worker is done: stop its timers, release the store, then stop the actors and resolve. */
  release(): void {
    const parts = this.parts;
    if (this.released || parts === undefined) return;
    this.released = true;
    parts.runner.stop();
    parts.lifecycle.stop();
    this.detachBreaker?.();
    const closing = parts.durable?.queue.close() ?? Promise.resolve();
    closing
      .catch((error: unknown) =>
        this.logger.error?.('SyncWorker: closing the backlog failed', error),
      )
      .finally(() => {
        this.root?.stop();
        parts.drain.resolveIdle();
        this.resolveShutdown?.();
      });
  }
}
