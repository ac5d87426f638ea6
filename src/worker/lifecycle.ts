import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import { systemMachine } from '../../machines/system.machine.js';
import { workerMachine } from '../../machines/worker.machine.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { RunTracer } from './runner.js';
import type { DrainState, WorkerState } from './types.js';

/** The effects the lifecycle machine asks the runtime for (its named actions). */
export interface LifecycleHost {
  /** Look for the next task to start. */
  startDraining(): void;
  /** The shutdown deadline passed: abort the running task, fail what cannot be kept. */
  abandonRemaining(): void;
  /** The worker is done: stop timers and release the backlog. */
  release(): void;
  /** The public state changed. */
  stateChanged(from: WorkerState, to: WorkerState): void;
}

type LifecycleActor = ActorRefFrom<typeof workerMachine>;
type LifecycleSnapshot = SnapshotFrom<typeof workerMachine>;

/** The public state: `stopping` wins over what the drain does. */
function publicState(admissionOpen: boolean, drain: DrainState): WorkerState {
  if (drain === 'done') return 'shutdown';
  if (!admissionOpen) return 'stopping';
  return drain === 'running' ? 'draining' : drain;
}

/** The bridge of each running lifecycle actor, so one provided machine serves every worker. */
const bridges = new WeakMap<object, LifecycleBridge>();

/** Runs one of the machine's actions on the bridge of the actor that asked for it. */
function effectOf(name: Effect) {
  return ({ self }: { self: object }) => bridges.get(self)?.effect(name);
}

type Effect = 'startDraining' | 'abandonRemaining' | 'release';

/**
 * The lifecycle machine with the runtime's actions, built once: a machine
 * built per worker (`provide` per instance) would cost each worker about
 * 40 KiB of state nodes.
 */
export const runtimeWorkerMachine = workerMachine.provide({
  actions: {
    startDraining: effectOf('startDraining'),
    abandonRemaining: effectOf('abandonRemaining'),
    release: effectOf('release'),
  },
});

/** The system machine that invokes {@link runtimeWorkerMachine}, built once for the same reason. */
export const runtimeSystemMachine = systemMachine.provide({
  actors: { worker: runtimeWorkerMachine },
});

/**
 * The runtime's side of the lifecycle machine: it turns what the drain loop
 * meets into events carrying facts, and supplies the machine's actions. What
 * it knows of the state is a read cache written only from the machine's
 * snapshot.
 *
 * One piece of lifecycle state stays here, for speed: lingering (see `lingering`).
 */
export class LifecycleBridge {
  /** Read cache of the drain region, written only from the snapshot. */
  drain: DrainState = 'idle';
  /** Read cache of the admission region, written only from the snapshot (closed once done). */
  admissionOpen = true;
  /** Read cache of the public state, written only from the snapshot. */
  state: WorkerState = 'idle';
  /**
   * The drain found nothing to do but stays `running` for `idleAfterMs`, so a
   * burst that follows costs no event; the machine hears NOTHING_RUNNABLE when
   * it ends. Set and cleared only by this class ({@link nothingRunnable},
   * {@link workArrived}, the linger timer).
   */
  private lingering = false;
  private idleSince = 0;
  private idleTimer: unknown;
  private actor: LifecycleActor | undefined;

  constructor(
    private readonly host: LifecycleHost,
    private readonly clock: Clock,
    private readonly idleAfterMs: number,
    private readonly logger: Logger,
  ) {}

  /** Connects the started lifecycle actor (the system machine's `worker` child). */
  attach(actor: LifecycleActor): void {
    this.actor = actor;
    bridges.set(actor, this);
    actor.subscribe((snapshot) => this.onSnapshot(snapshot));
  }

  /** Whether the drain is lingering: empty, but not yet `idle`. */
  get isLingering(): boolean {
    return this.lingering;
  }

  /** Work arrived: wake an idle drain, end a backoff, or end a linger. Returns whether the loop must look again. */
  workArrived(): boolean {
    switch (this.drain) {
      case 'idle':
        this.send({ type: 'WORK_QUEUED' });
        return false;
      case 'backoff':
        this.send({ type: 'WORK_READY' });
        return false;
      case 'running':
        if (!this.lingering) return true;
        this.lingering = false;
        return true;
      default:
        return false;
    }
  }

  /** Nothing runs or can start; `retryPending`: some durable task waits out a backoff. */
  nothingRunnable(retryPending: boolean): void {
    if (retryPending || !this.admissionOpen || this.idleAfterMs === 0) {
      this.lingering = false;
      this.send({ type: 'NOTHING_RUNNABLE', retryPending });
      return;
    }
    if (this.lingering) return;
    this.lingering = true;
    this.idleSince = this.clock.now();
    // One timer, re-armed only when it fires early.
    if (this.idleTimer === undefined) {
      this.idleTimer = this.clock.setTimeout(this.onIdleTimer, this.idleAfterMs);
    }
  }

  /** The breaker refused the next task; `closureWaiting`: closure tasks wait too. */
  permitDenied(closureWaiting: boolean): void {
    this.send({ type: 'PERMIT_DENIED', closureWaiting });
  }

  /** The breaker moved on: a blocked drain tries again. */
  breakerChanged(): void {
    if (this.drain === 'blocked') this.send({ type: 'BREAKER_CHANGED' });
  }

  /** `shutdown()` was called; `nothingToDrain` as the SHUTDOWN event defines it. */
  shutdown(timeoutMs: number, nothingToDrain: boolean): void {
    this.lingering = false;
    this.send({ type: 'SHUTDOWN', timeoutMs, nothingToDrain });
  }

  /** Stops the linger timer (the worker is done). */
  stop(): void {
    this.lingering = false;
    if (this.idleTimer !== undefined) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Sends `trace.*` events for the inspector (the worker's `trace` option); made only when asked for. */
  tracer(): RunTracer {
    return (event) => this.send(event);
  }

  private readonly onIdleTimer = (): void => {
    this.idleTimer = undefined;
    if (!this.lingering) return;
    const waited = this.clock.now() - this.idleSince;
    if (waited < this.idleAfterMs) {
      this.idleTimer = this.clock.setTimeout(this.onIdleTimer, this.idleAfterMs - waited);
      return;
    }
    this.lingering = false;
    this.send({ type: 'NOTHING_RUNNABLE', retryPending: false });
  };

  private send(event: Parameters<LifecycleActor['send']>[0]): void {
    const actor = this.actor;
    if (actor !== undefined && actor.getSnapshot().status === 'active') actor.send(event);
  }

  /**
   * Runs one of the machine's actions (for {@link runtimeWorkerMachine});
   * an effect must never throw into XState, which would stop the actor.
   * @internal
   */
  effect(name: Effect): void {
    try {
      this.host[name]();
    } catch (error) {
      this.logger.error?.(`SyncWorker: the lifecycle's ${name} failed`, error);
    }
  }

  private onSnapshot(snapshot: LifecycleSnapshot): void {
    const value = snapshot.value;
    if (typeof value === 'string') {
      this.drain = 'done';
      this.admissionOpen = false;
    } else {
      this.drain = value.active.drain;
      this.admissionOpen = value.active.admission === 'open';
    }
    const to = publicState(this.admissionOpen, this.drain);
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.host.stateChanged(from, to);
  }
}
