/**
 * The lifecycle of the reliability models, stepped by the real machine.
 *
 * The models keep their own expectations of fates, order, counters and the
 * breaker; only the worker's control state comes from here. It is
 * `machines/worker.machine.ts` itself, stepped with XState's pure
 * `transition()` on a snapshot this class holds. A model tells it the facts it
 * meets, with the methods named after the runtime's (`LifecycleBridge` in
 * `src/worker/lifecycle.ts`, called from `drainLoop.ts` and `SyncWorker.ts`),
 * and they send the machine the event the runtime sends then, carrying the
 * facts the model itself knows (`retryPending`, `closureWaiting`,
 * `nothingToDrain`). What the worker is (`state`, `drain`, whether admission
 * is open, whether it is done) is read from the snapshot, never kept beside it.
 *
 * Two models drive it two ways. The closure model (./worker-model.ts) replays
 * the drain loop and calls the fact methods where its loop meets them. The
 * durable model (./durable-model.ts) checks the worker's log instead: it sends
 * work arrivals and breaker changes as it consumes them, and at each rest lets
 * {@link LifecycleModel.atRest} send what the drain loop concluded when it
 * stopped.
 *
 * Effects. `transition()` executes nothing: it returns the actions the step
 * asks for. `abandonRemaining` and `release` run the model's own handlers
 * (the deadline's fates are the model's business, the moment is the
 * machine's); `startDraining` needs none, as the models look for the next
 * task after every command and timer anyway, like the microtask the runtime
 * schedules. Any other action fails the run, so a new effect in the machine
 * cannot go unnoticed.
 *
 * The shutdown deadline is an `after` in the machine, and `transition()` runs
 * no timer: entering `admission.closed` returns an `xstate.raise` action whose
 * params carry the delayed event
 * (`xstate.after.shutdownDeadline.worker.active.admission.closed`), its id and
 * the delay the machine resolved from its context; leaving the state returns
 * an `xstate.cancel` of that id. This class keeps those as timers on the
 * model's virtual clock (`now`) and sends the event back when the model says
 * its time has come ({@link fireTimers}). So the model does not compute the
 * deadline: it learns it from the machine (chosen over sending the
 * `xstate.after.*` event from the model's own arithmetic, which would copy
 * the machine's delay instead of stepping it).
 *
 * Lingering stays outside the machine, as in the runtime: when the drain finds
 * nothing runnable with admission open and no retry pending, it stays
 * `running` for `idleAfterMs`, and the machine hears NOTHING_RUNNABLE
 * {retryPending: false} only when that ends ({@link lingerEnded}); work that
 * arrives first ends it without an event.
 */
import {
  type AnyEventObject,
  type ExecutableActionObject,
  getInitialSnapshot,
  type SnapshotFrom,
  transition,
} from 'xstate';
import { type WorkerEvent, workerMachine } from '../../../machines/worker.machine.js';
import type { BreakerState, DrainState, WorkerState } from '../../../src/index.js';

/** The model's handlers for the machine's effects. */
export interface LifecycleEffects {
  /** The shutdown deadline passed: abort the running task, fail what waits. */
  abandonRemaining?(): void;
  /** The worker is done (`shutdown()` resolves). */
  release?(): void;
}

/** What a model knows of the drain with the worker at rest (for {@link LifecycleModel.atRest}). */
export interface RestFacts {
  /** A task runs. */
  running: boolean;
  /** Some durable task could start now (its key is ready). */
  ready: boolean;
  closuresWaiting: number;
  breaker: BreakerState;
  /** Some durable task waits out a retry backoff. */
  retryPending: boolean;
}

interface Timer {
  at: number;
  event: AnyEventObject;
}

export class LifecycleModel {
  private snapshot: SnapshotFrom<typeof workerMachine> = getInitialSnapshot(workerMachine);
  /** Delayed events the machine scheduled, by id. */
  private readonly timers = new Map<string, Timer>();
  /** Events sent while an effect runs wait their turn, as in an actor's mailbox. */
  private readonly inbox: AnyEventObject[] = [];
  private stepping = false;
  private lingerSince: number | undefined;
  private releases = 0;
  /** When the shutdown deadline falls, as the machine set it (kept after it fell due). */
  deadline: number | undefined;
  /** Whether the machine's `abandonRemaining` ran. */
  abandoned = false;

  constructor(
    private readonly now: () => number,
    private readonly idleAfterMs: number,
    private readonly effects: LifecycleEffects = {},
  ) {}

  // --- what the worker is (from the snapshot) ------------------------------

  /** The drain region, `done` once the machine is final (as `stats().drain`). */
  get drain(): DrainState {
    const value = this.snapshot.value;
    return typeof value === 'string' ? 'done' : value.active.drain;
  }

  /** Whether `enqueue` may accept: admission open, and not done. */
  get admissionOpen(): boolean {
    const value = this.snapshot.value;
    return typeof value !== 'string' && value.active.admission === 'open';
  }

  get done(): boolean {
    return this.snapshot.status === 'done';
  }

  /** The public `worker.state`: `stopping` while admission is closed, else the drain's. */
  get state(): WorkerState {
    const drain = this.drain;
    if (drain === 'done') return 'shutdown';
    if (!this.admissionOpen) return 'stopping';
    return drain === 'running' ? 'draining' : drain;
  }

  /** The drain found nothing to do, but stays `running` until the linger ends. */
  get lingering(): boolean {
    return this.lingerSince !== undefined;
  }

  /** Whether the drain has nothing in hand: not `running`, or lingering (part of `nothingToDrain`). */
  get resting(): boolean {
    return this.drain !== 'running' || this.lingering;
  }

  /** Whether the machine's `release` ran (exactly once, when it became final). */
  get released(): boolean {
    return this.releases > 0;
  }

  /** When the machine's earliest delayed event (the shutdown deadline) falls due. */
  nextTimer(): number | undefined {
    let next: number | undefined;
    for (const { at } of this.timers.values()) if (next === undefined || at < next) next = at;
    return next;
  }

  /** When the linger ends, if the drain lingers. */
  lingerEndsAt(): number | undefined {
    return this.lingerSince === undefined ? undefined : this.lingerSince + this.idleAfterMs;
  }

  // --- what the runtime tells the machine ---------------------------------

  /** Work arrived: wakes an idle drain, ends a backoff or a linger (`workArrived`). */
  workArrived(): void {
    const drain = this.drain;
    if (drain === 'idle') this.send({ type: 'WORK_QUEUED' });
    else if (drain === 'backoff') this.send({ type: 'WORK_READY' });
    else if (drain === 'running') this.lingerSince = undefined;
  }

  /** Nothing runs or can start, nor is being written (`nothingRunnable`). */
  nothingRunnable(retryPending: boolean): void {
    if (retryPending || !this.admissionOpen || this.idleAfterMs === 0) {
      this.lingerSince = undefined;
      this.send({ type: 'NOTHING_RUNNABLE', retryPending });
    } else if (this.lingerSince === undefined) {
      this.lingerSince = this.now();
    }
  }

  /** The model's clock reached {@link lingerEndsAt}. */
  lingerEnded(): void {
    if (this.lingerSince === undefined) return;
    this.lingerSince = undefined;
    this.send({ type: 'NOTHING_RUNNABLE', retryPending: false });
  }

  /** The breaker refused the next task (`permitDenied`). */
  permitDenied(closureWaiting: boolean): void {
    this.send({ type: 'PERMIT_DENIED', closureWaiting });
  }

  /** The breaker changed state: a blocked drain tries again (`breakerChanged`). */
  breakerChanged(): void {
    if (this.drain === 'blocked') this.send({ type: 'BREAKER_CHANGED' });
  }

  /** `shutdown()` was called; the machine ignores all but the first. */
  shutdown(timeoutMs: number, nothingToDrain: boolean): void {
    this.lingerSince = undefined;
    this.send({ type: 'SHUTDOWN', timeoutMs, nothingToDrain });
  }

  /**
   * For a model that checks the worker at rest instead of replaying its loop:
   * what the drain loop told the lifecycle when it stopped with nothing
   * started (`nothingToStart`, `refused` in `drainLoop.ts`). Only a `running`
   * drain with nothing running decides anything; the other states wait for
   * an event the model sends as it meets the fact (work arrived, the breaker
   * changed, a timer). A drain that could start a task but did not is a
   * stall, left for the model's progress check to report.
   */
  atRest(f: RestFacts): void {
    if (this.drain !== 'running' || f.running) return;
    if (f.breaker === 'open' && f.ready) this.permitDenied(f.closuresWaiting > 0);
    else if (!f.ready && f.closuresWaiting === 0) this.nothingRunnable(f.retryPending);
  }

  /** Sends every delayed event due by the model's clock, earliest first. */
  fireTimers(): void {
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= this.now());
      due.sort(([, a], [, b]) => a.at - b.at);
      const first = due[0];
      if (first === undefined) return;
      this.timers.delete(first[0]);
      this.send(first[1].event);
    }
  }

  // --- stepping ------------------------------------------------------------

  private send(event: WorkerEvent | AnyEventObject): void {
    this.inbox.push(event);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.inbox.shift(); next !== undefined; next = this.inbox.shift()) {
        const [snapshot, actions] = transition(workerMachine, this.snapshot, next as WorkerEvent);
        this.snapshot = snapshot;
        for (const action of actions) this.execute(action);
      }
    } finally {
      this.stepping = false;
    }
  }

  private execute(action: ExecutableActionObject): void {
    switch (action.type) {
      case 'xstate.raise': {
        const { event, id, delay } = action.params as {
          event: AnyEventObject;
          id: string | undefined;
          delay: number | undefined;
        };
        if (delay === undefined) throw new Error(`model: an undelayed raise of ${event.type}`);
        this.deadline = this.now() + delay;
        this.timers.set(id ?? event.type, { at: this.deadline, event });
        return;
      }
      case 'xstate.cancel':
        this.timers.delete((action.params as { sendId: string }).sendId);
        return;
      case 'startDraining':
        return;
      case 'abandonRemaining':
        this.abandoned = true;
        this.effects.abandonRemaining?.();
        return;
      case 'release':
        if (this.releases++ > 0) throw new Error('model: the lifecycle released twice');
        this.lingerSince = undefined;
        this.effects.release?.();
        return;
      default:
        throw new Error(`model: the lifecycle asked for an unknown action ${action.type}`);
    }
  }
}
