import { type ActorRefFrom, createActor } from 'xstate';
import { sharedStoreMachine } from '../../machines/sharedStore.machine.js';
import { BacklogError } from '../errors/BacklogError.js';
import { BacklogUnavailableError } from '../errors/BacklogUnavailableError.js';
import type { SharedQueueSettings } from './queueSettings.js';
import type { SharedBacklog } from './types.js';

/** Waits between tries to reach a store that did not answer: doubling, up to the ceiling. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

/** What the link tells the queue. */
export interface StoreLinkHost {
  /** The session is open for the first time. */
  opened(): void;
  /** The store answers again after it could not be reached. */
  answeredAgain(): void;
  /** The store stayed unreachable for `unavailableMs`, or cannot be used: fail what waits, with this. */
  failWaiting(error: BacklogError): void;
}

/**
 * The worker's connection to its shared store: it opens the session (trying
 * again while the server cannot be reached), and tells the store machine
 * (`machines/sharedStore.machine.ts`) when the store answers or does not, which
 * decides when waiting tasks fail and `enqueue` refuses. While the store is
 * unreachable it tries to reach it, so a worker with nothing to send still
 * finds out when it is back. One event per change of reachability, never per task.
 */
export class StoreLink {
  session: SharedBacklog | undefined;
  /** Cached from the machine: whether the store answers. */
  available = false;
  private state = 'connecting';
  private readonly actor: ActorRefFrom<typeof sharedStoreMachine>;
  private fatal: BacklogError | undefined;
  private lastError: BacklogUnavailableError | undefined;
  private retryMs = RECONNECT_MIN_MS;
  private timer: unknown;
  private closed = false;

  constructor(
    private readonly settings: SharedQueueSettings,
    private readonly host: StoreLinkHost,
  ) {
    const machine = sharedStoreMachine.provide({
      actions: { failWaiting: () => host.failWaiting(this.unavailable()) },
    });
    this.actor = createActor(machine, {
      input: { unavailableMs: settings.unavailableMs },
      clock: settings.clock,
    });
    this.actor.subscribe((snapshot) => {
      const was = this.state;
      this.state = String(snapshot.value);
      this.available = this.state === 'available';
      if (this.available && was !== 'connecting' && was !== 'available') host.answeredAgain();
    });
    this.actor.start();
  }

  /** Opens the session, trying again until it opens, fails for good, or the link closes. */
  open(): void {
    const { store, owner, producerOnly } = this.settings;
    store.open({ owner, role: producerOnly ? 'producer' : 'worker' }).then(
      (session) => {
        if (this.closed) {
          void session.close();
          return;
        }
        this.session = session;
        this.answered();
        this.host.opened();
      },
      (error: unknown) => {
        if (error instanceof BacklogUnavailableError) {
          this.unreachable(error);
          this.later(() => this.open());
          return;
        }
        this.fatal =
          error instanceof BacklogError ? error : new BacklogError(store.location, String(error));
        this.settings.logger.error?.(`SyncWorker: the shared backlog cannot be used`, this.fatal);
        this.host.failWaiting(this.fatal);
      },
    );
  }

  /** Whether the store is known not to answer (not merely still connecting). */
  get unreachableNow(): boolean {
    return this.state === 'unreachable' || this.state === 'refusing';
  }

  /** Why `enqueue` refuses now, if it does, with `waiting` accepted tasks not yet appended. */
  refusal(waiting: number): BacklogError | undefined {
    if (this.fatal !== undefined) return this.fatal;
    if (this.state === 'refusing') return this.unavailable();
    const { store, maxQueue } = this.settings;
    if (!this.unreachableNow || waiting < maxQueue) return undefined;
    return new BacklogUnavailableError(
      store.location,
      `backlog ${store.location} is unreachable and ${waiting} accepted tasks (maxQueue) already wait for it`,
    );
  }

  /** The fate of tasks still in memory when the worker closes with the store unreachable. */
  closingError(): BacklogError {
    if (this.fatal !== undefined) return this.fatal;
    const { location } = this.settings.store;
    return new BacklogUnavailableError(
      location,
      `the worker shut down while backlog ${location} was unreachable: this task was never kept`,
      { cause: this.lastError },
    );
  }

  /** The open session; throws a `BacklogUnavailableError` before it opens. */
  connected(): SharedBacklog {
    if (this.session !== undefined) return this.session;
    const { location } = this.settings.store;
    throw new BacklogUnavailableError(location, `backlog ${location} is not connected yet`);
  }

  /** An operation succeeded. */
  answered(): void {
    this.retryMs = RECONNECT_MIN_MS;
    if (!this.available) this.send({ type: 'STORE_ANSWERED' });
  }

  /** An operation could not reach the store: keep trying it until it answers. */
  unreachable(error: BacklogUnavailableError): void {
    this.lastError = error;
    if (this.state === 'available' || this.state === 'connecting') {
      this.send({ type: 'STORE_UNREACHABLE' });
    }
    if (this.session !== undefined && this.timer === undefined) this.later(() => this.ping());
  }

  /** Stops trying, and closes the session. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.settings.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.send({ type: 'CLOSE' });
    await this.session?.close();
  }

  private ping(): void {
    this.session?.list({ limit: 1 }).then(
      () => this.answered(),
      (error: unknown) => {
        if (error instanceof BacklogUnavailableError) this.unreachable(error);
        else this.answered();
      },
    );
  }

  private later(attempt: () => void): void {
    if (this.closed) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(RECONNECT_MAX_MS, this.retryMs * 2);
    this.timer = this.settings.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) attempt();
    }, wait);
  }

  private unavailable(): BacklogUnavailableError {
    const location = this.settings.store.location;
    const why = this.lastError === undefined ? '' : `: ${this.lastError.message}`;
    return new BacklogUnavailableError(
      location,
      `backlog ${location} was unreachable for ${this.settings.unavailableMs} ms (unavailableMs)${why}`,
      { cause: this.lastError },
    );
  }

  private send(event: Parameters<typeof this.actor.send>[0]): void {
    if (this.actor.getSnapshot().status === 'active') this.actor.send(event);
  }
}
