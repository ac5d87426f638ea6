/**
 * A model of a SyncWorker delivering durable tasks from a memory backlog, for
 * the model-based property test `durable.model.test.ts`.
 *
 * Unlike the closure model (./worker-model.ts), this one does not replay the
 * scheduler step by step: which ready key goes next is the worker's choice.
 * It is a checker instead. The real side logs everything it sees, in order:
 * every run as it begins (the handler or the closure records it), the remote's
 * answers, the worker's events and `onDeadLetter` calls, the closure tasks'
 * callbacks. The model consumes that log and holds each entry against the
 * documented behaviour, with its own state of every task:
 *
 * - **Concurrency.** At most `concurrency` runs at once, and at most one per
 *   key (closure tasks, which carry no key here, share one key of their own,
 *   apart from the durable keys). A run is in flight from its start until the
 *   worker tells its outcome (or a shutdown deadline abandons it).
 * - **Per-key order.** A run begins only for its key's oldest pending tasks,
 *   never for a task that was delivered or dead-lettered, never before its
 *   retry backoff ends. Hence per key the first deliveries happen in enqueue
 *   order, across restarts; checked on the remote's side too, where the first
 *   write of each task lands in enqueue order (but a write of an abandoned run
 *   of a task later dead-lettered may land any time).
 * - **Batches.** The `writeMany` handler takes up to `batchSize` tasks in one
 *   call: exactly the longest run of its key's oldest pending tasks that share
 *   its head's handler, up to `batchSize` (a batch never waits to fill, and
 *   never skips a task). One call is one outcome for all its tasks: `ok`
 *   delivers each (one `taskSucceeded` each, in order); a retryable failure
 *   retries them all after one backoff, each using one attempt. A
 *   `NonRetryableError`, or a retryable failure once the head has used its
 *   attempts, splits a batch of several in halves, front half first
 *   (`taskRetried` with no delay for each task), run again at once; a half
 *   that fails is split again, so the task at fault ends alone and goes to the
 *   dead letters, and the others are delivered. While a key splits, its
 *   batches are the halves, whatever waits behind them. A task of the remote's
 *   `bad` data fails every call it is in with a `NonRetryableError`.
 * - **Retries are exact.** A run's outcome is the remote's answer, which the
 *   model knows (the test scripts it), so the model predicts each fate: `ok` →
 *   `taskSucceeded`; a plain Error or a timeout → `taskRetried` while
 *   `attempt < maxAttempts`, else the dead letters (or a split); a
 *   `NonRetryableError` → the dead letters at once (or a split). A failure
 *   after which the breaker is open is the remote's, not the task's: it does
 *   not count against `maxAttempts`. The attempt number is exact (failed runs
 *   so far + 1, across restarts: a run a shutdown interrupted does not count),
 *   so counted attempts never exceed `maxAttempts`, plus one for each split
 *   the task was in (a split runs its halves once more); the backoff is within
 *   `[0, min(maxMs, baseMs·2^(n−1)))` of the head's attempt n, a timeout lands
 *   exactly at start + timeout and aborts the run's signal.
 * - **Dead letters.** Exactly one `onDeadLetter`, immediately followed by
 *   exactly one `taskFailed`; a delivered task exactly one `taskSucceeded`.
 * - **Breaker.** No run begins while it is open; one per half-open spell (the
 *   probe), and that probe is the oldest kept task of the ready keys (a
 *   closure task probes only when no durable task is ready). Runs admitted
 *   before it opened may still be in flight.
 * - **Turns.** Round robin across keys: the ready keys form a ring; a key
 *   joins at the back (when its first task is committed, when its head is
 *   done and more wait behind it, when its backoff ends, when it splits a
 *   batch) and the front one runs; a key with nothing left leaves the ring.
 *   While the breaker is half-open the worker rotates the ring to its oldest
 *   kept task whenever it looks for the probe (with `concurrency` > 1 also
 *   while the probe is out and a slot is free), and a restart rebuilds it, so
 *   the keys ready in a half-open spell tie, and so do those after a restart.
 *   Closure and durable tasks take turns when both can start.
 * - **Progress.** At rest, with a free slot and the breaker closed (or
 *   half-open with no probe out), no key is ready and no closure task could
 *   start (checked by the test).
 * - **At least once, and what that means here.** Every task keeps one id
 *   (ids are unique across tasks), so any duplicate comes under the same id.
 *   The worker acknowledges at most one write per task, ever, across
 *   restarts, and begins no run after a task's fate. Any other write that
 *   lands is the success of a run the worker abandoned: timed out, or aborted
 *   by a shutdown that interrupted it (this remote ignores the abort signal,
 *   like a server that already received the request; and a shutdown deadline
 *   can fall after a write landed, its answer still on the way), which the
 *   worker never hears of. Those are the only duplicates. Nothing else can
 *   duplicate a delivery here: the memory store takes every write at once (no
 *   crash window between a delivery and its removal), and graceful shutdown
 *   aborts the running runs before it releases their tasks. With a remote that
 *   honours the signal there would be none at all.
 * - **Closure tasks.** Exactly one fate each, the one their story calls for;
 *   the closure queue runs in enqueue order and drops its oldest when full.
 *
 * The model also knows every task's place: pending (which the test holds
 * against `backlog.list()`, `backlog.stats()` and `stats().backlog`), delivered,
 * or dead (against `backlog.deadLetters()`).
 *
 * The lifecycle is the real worker machine stepped with `transition()`
 * (./lifecycle-model.ts, one per worker), told when work arrives and the
 * breaker changes, and at rest what the drain loop concludes (`atRest`).
 * Refusal at shutdown, the deadline, and when `shutdown()` resolves come from
 * it, and `stats().state` and `.drain` are held against it.
 */
import { inspect } from 'node:util';
import {
  BreakerOpenError,
  type BreakerState,
  NonRetryableError,
  QueueOverflowError,
  TaskTimeoutError,
  WorkerShutdownError,
} from '../../../src/index.js';
import { LifecycleModel } from './lifecycle-model.js';

/** The worker's settings in every run (the fields of {@link DurableParams} vary per run). */
export const DURABLE_TIMING = {
  /** Every step the test takes on its own is a multiple of this. */
  tick: 10,
  /** The task timeout: the tracker is pinned (floor = ceiling = default). */
  timeoutMs: 1_000,
  probeIntervalMs: 502,
  /** Deadlines of the shutdown before a restart (304: the one at the end of every story). */
  shutdownMs: [304, 0, 1_504],
  retryBaseMs: 10,
  retryMaxMs: 160,
  /** The drain lingers this long before it goes idle (the worker's default). */
  idleAfterMs: 1,
} as const;

/** Slack for times built by adding jittered (fractional) backoffs. */
const EPS = 1e-6;

/** What varies per run. */
export interface DurableParams {
  maxQueue: number;
  failureThreshold: number;
  maxAttempts: number;
  /** Seeds the worker's backoff jitter, so a run replays exactly. */
  jitterSeed: number;
  /** Most runs in flight at once (at most one per key). */
  concurrency: number;
  /** `batch.maxSize` of the `writeMany` handler. */
  batchSize: number;
}

/** The two handlers: `write` takes one task per call, `writeMany` a batch of up to `batchSize`. */
export type Handler = 'write' | 'writeMany';
/** How the remote answers a durable call: `held` is settled by the test later (or never). */
export type DurableAnswer = 'ok' | 'retryable' | 'fatal' | 'hang' | 'held';
/** What a closure task's `run` does. */
export type ClosureBody = 'sync' | 'throw' | 'held';
/** An answer that arrived: `retryable` is a plain Error, `fatal` a NonRetryableError. */
export type Outcome = 'ok' | 'retryable' | 'fatal';

/** One run, as the handler or the closure saw it begin. */
export interface Call {
  readonly no: number;
  /** Which worker (0, then one more per restart) ran it. */
  readonly gen: number;
  readonly kind: 'durable' | 'closure';
  /** The durable tasks' sequence numbers (in their payloads), in the call's order; or the closure task's id. */
  readonly refs: readonly number[];
  /** The durable tasks' ids (empty for a closure). */
  readonly ids: readonly string[];
  /** Each durable task's attempt number (empty for a closure). */
  readonly attempts: readonly number[];
  readonly handler: Handler | undefined;
  readonly key: string | undefined;
  readonly at: number;
  /** The breaker's state when the run began (after the worker took its permit). */
  readonly breaker: BreakerState;
  /** Breaker state changes so far, all workers together: one half-open spell has one value. */
  readonly spell: number;
  /** Closure tasks waiting when the run began. */
  readonly waiting: number;
  readonly answer: DurableAnswer | ClosureBody;
  readonly signal: AbortSignal;
  /** What a `throw` closure throws. */
  readonly error: Error | undefined;
  /** Settles a held run. */
  settle: ((outcome: Outcome) => void) | undefined;
}

/** What the real side saw, in order. `at` is the clock's time then. */
export type Observed =
  | { type: 'start'; at: number; call: Call }
  /** An answer arrived: the remote's (a durable run; `ok` means the writes landed) or a held closure's. */
  | { type: 'remote'; at: number; call: Call; outcome: Outcome; error: Error | undefined }
  | { type: 'succeeded'; at: number; gen: number; ref: number; attempts: number; id: string }
  | {
      type: 'retried';
      at: number;
      gen: number;
      ref: number;
      error: Error;
      attempt: number;
      delayMs: number;
    }
  | {
      type: 'deadLetter';
      at: number;
      gen: number;
      ref: number;
      error: Error;
      attempts: number;
      id: string;
      reason: string;
    }
  | { type: 'failed'; at: number; gen: number; ref: number; error: Error }
  | { type: 'breaker'; at: number; gen: number; from: BreakerState; to: BreakerState }
  /** A closure task's `onSuccess` (`ok`) or `onFailure`. */
  | { type: 'fate'; at: number; gen: number; ref: number; ok: boolean; value: unknown };

export interface DurableTaskState {
  readonly seq: number;
  readonly key: string;
  readonly handler: Handler;
  /** The remote refuses this task's data: every call it is in fails with a NonRetryableError. */
  readonly bad: boolean;
  id: string | undefined;
  state: 'pending' | 'delivered' | 'dead';
  /** Failed runs so far: what the store keeps as `attempts`. */
  failedRuns: number;
  /** Of those, the ones after which the breaker was open: the store's `remoteFailures`. */
  remoteFailures: number;
  /** Splits of a failed batch the task was in: each runs it once more, beyond `maxAttempts`. */
  splits: number;
  lastError: string | undefined;
  retryAt: number | undefined;
  /** The attempt that ended in the dead letters. */
  finalAttempt: number | undefined;
  succeededEvents: number;
  deadLetterCalls: number;
  failedEvents: number;
  /** Writes that landed at the remote; `acknowledgedOk` of them the worker acted on (`taskSucceeded`). */
  remoteOk: number;
  acknowledgedOk: number;
  /** Writes of runs a shutdown interrupted (landed before or after it). */
  lateOkAfterShutdown: number;
}

interface ClosureState {
  readonly id: number;
  readonly body: ClosureBody;
  state: 'refused' | 'waiting' | 'running' | 'done';
  /** Why `enqueue` refused it. */
  refusedBy: 'shutdown' | 'breaker' | undefined;
  fates: number;
  dropExpected: boolean;
}

interface CallState {
  status: 'current' | 'done' | 'abandoned';
  /** Abandoned at a shutdown (else at a timeout). */
  byShutdown: boolean;
  outcome: Outcome | undefined;
  error: Error | undefined;
}

/**
 * The outcome of a durable run being told, one event per task of the run, in
 * the run's order, with nothing in between (a batch's outcome is one).
 */
interface Telling {
  call: Call;
  kind: 'succeeded' | 'retried';
  /** Of the run's tasks, how many have heard. */
  told: number;
  /** For `retried`: after a backoff (the same for all), or at once as two halves. */
  mode: 'backoff' | 'split' | undefined;
  delayMs: number;
  error: Error | undefined;
}

/** What one worker has done, for its `stats()`. */
interface Generation {
  completed: number;
  failed: number;
  retried: number;
  deadLettered: number;
  timedOut: number;
  dropped: number;
  refused: number;
  breaker: BreakerState;
  lastStart: { kind: 'durable' | 'closure'; durableReady: boolean } | undefined;
}

const freshGeneration = (): Generation => ({
  completed: 0,
  failed: 0,
  retried: 0,
  deadLettered: 0,
  timedOut: 0,
  dropped: 0,
  refused: 0,
  breaker: 'closed',
  lastStart: undefined,
});

/** How often the interesting things happened, summed over runs by the test. */
export interface Coverage {
  runs: number;
  deliveries: number;
  deadLetters: number;
  retries: number;
  /** Retries whose failure left the breaker open, so they did not use up the task's attempts. */
  remoteFailures: number;
  timeouts: number;
  probes: number;
  restarts: number;
  restartsInterruptingARun: number;
  lateDeliveries: number;
  /** Tasks written twice, and how many of those because a restart interrupted a run. */
  duplicates: number;
  duplicatesAcrossRestart: number;
  spills: number;
  fairnessChecks: number;
  closureRuns: number;
  /** Runs that began while another was in flight. */
  concurrentStarts: number;
  /** Runs that filled the last free slot (with `concurrency` > 1). */
  fullStarts: number;
  /** Batch calls of two tasks or more. */
  batches: number;
  /** Failed batches split in halves. */
  splits: number;
  /** Bad tasks that ended in the dead letters after being found by a split. */
  badFoundBySplit: number;
}

export const emptyCoverage = (): Coverage => ({
  runs: 0,
  deliveries: 0,
  deadLetters: 0,
  retries: 0,
  remoteFailures: 0,
  timeouts: 0,
  probes: 0,
  restarts: 0,
  restartsInterruptingARun: 0,
  lateDeliveries: 0,
  duplicates: 0,
  duplicatesAcrossRestart: 0,
  spills: 0,
  fairnessChecks: 0,
  closureRuns: 0,
  concurrentStarts: 0,
  fullStarts: 0,
  batches: 0,
  splits: 0,
  badFoundBySplit: 0,
});

/**
 * Fails the run with what was seen and what was expected. The checks run after
 * every command of thousands of runs, so they are plain comparisons.
 */
export function ensure(ok: boolean, label: string, actual?: unknown, expected?: unknown): void {
  if (ok) return;
  const details =
    actual === undefined && expected === undefined
      ? ''
      : `\n  actual:   ${inspect(actual, { depth: 4 })}\n  expected: ${inspect(expected, { depth: 4 })}`;
  throw new Error(`${label}${details}`);
}

const near = (a: number, b: number) => Math.abs(a - b) <= EPS;

export function describeCall(call: Call): string {
  if (call.kind === 'closure') return `run of closure c${call.refs[0]} (${call.answer})`;
  const tasks = call.refs.map((seq) => `d${seq}`).join('+');
  return `${call.handler} run of ${tasks} (key ${call.key}, attempt ${call.attempts.join('/')}, ${call.answer})`;
}

function describeEvent(e: Observed): string {
  switch (e.type) {
    case 'start':
      return `start of the ${describeCall(e.call)}`;
    case 'remote':
      return `answer ${e.outcome} to the ${describeCall(e.call)}`;
    case 'fate':
      return `${e.ok ? 'onSuccess' : 'onFailure'} of c${e.ref}`;
    case 'breaker':
      return `breaker ${e.from} → ${e.to}`;
    default:
      return `${e.type} of d${e.ref}`;
  }
}

/** A failed batch of `size` at the front of its key's split (or not splitting) runs again as two halves. */
export function splitSegments(segments: readonly number[] | undefined, size: number): number[] {
  const first = Math.ceil(size / 2);
  const halves = [first, size - first];
  return segments === undefined ? halves : [...halves, ...segments.slice(1)];
}

/** `count` tasks from the key's head are done: its split moves on, and ends when nothing is left of it. */
export function consumeSegments(
  segments: readonly number[] | undefined,
  count: number,
): number[] | undefined {
  if (segments === undefined) return undefined;
  const rest = [...segments];
  let left = count;
  while (left > 0 && rest.length > 0) {
    const front = rest[0] as number;
    if (front > left) {
      rest[0] = front - left;
      break;
    }
    left -= front;
    rest.shift();
  }
  return rest.length === 0 ? undefined : rest;
}

export class DurableModel {
  readonly durable: DurableTaskState[] = [];
  readonly closures: ClosureState[] = [];
  /** The remote's script: the next durable runs' answers; `defaultAnswer` once it runs out. */
  answers: DurableAnswer[] = [];
  defaultAnswer: DurableAnswer = 'held';
  /** The current worker. */
  gen = 0;
  /** The current worker's durable runs in flight, by key. */
  readonly durableRuns = new Map<string, Call>();
  /** The current worker's closure run in flight (closure tasks share one key here). */
  closureRun: Call | undefined;
  /** Held runs the worker gave up on (timeout, shutdown) that the test has not settled yet. */
  readonly abandonedHeld: Call[] = [];
  /** How many log entries were consumed. */
  consumed = 0;
  /** The current worker's lifecycle machine, stepped with `transition()`. */
  lifecycle = this.freshLifecycle();
  readonly coverage = emptyCoverage();

  /** The model's time: that of the log entry or rest it is at. */
  private time = 0;
  /** A deadline set at a rest falls due no sooner than the clock's next move (a 0 ms one too). */
  private timersArmed = true;

  private w: Generation = freshGeneration();
  private readonly calls = new Map<number, CallState>();
  /** Per key with pending tasks: since which log position it has been ready (in the ring), if it is. */
  private readonly readySince = new Map<string, number>();
  /** Per key splitting a failed batch: the sizes of its next batches, front first. */
  private readonly segments = new Map<string, number[]>();
  private readonly ids = new Map<string, number>();
  private readonly halfOpenSpells = new Set<number>();
  /** The half-open probe in flight, if any: the other keys wait for its outcome. */
  private probeRun: Call | undefined;
  /** The ring position every key ready in the current half-open spell shares. */
  private spellTie = 0;
  private telling: Telling | undefined;
  private closureWaiting: number[] = [];
  private position = 0;
  private awaitingFailedFor: number | undefined;
  private refusalsExpected = 0;

  constructor(readonly params: DurableParams) {}

  // --- what the test does ------------------------------------------------

  /** A durable task for `key` is enqueued (always accepted before shutdown); returns its sequence number. */
  acceptDurable(key: string, now: number, handler: Handler = 'write', bad = false): number {
    const seq = this.durable.length;
    this.promote(now);
    this.position++;
    if (this.pendingOf(key).length === 0 && !this.durableRuns.has(key)) this.makeReady(key);
    this.lifecycle.workArrived();
    this.durable.push({
      seq,
      key,
      handler,
      bad,
      id: undefined,
      state: 'pending',
      failedRuns: 0,
      remoteFailures: 0,
      splits: 0,
      lastError: undefined,
      retryAt: undefined,
      finalAttempt: undefined,
      succeededEvents: 0,
      deadLetterCalls: 0,
      failedEvents: 0,
      remoteOk: 0,
      acknowledgedOk: 0,
      lateOkAfterShutdown: 0,
    });
    return seq;
  }

  /** A closure task is enqueued; returns its id and what `enqueue` must return. */
  acceptClosure(body: ClosureBody): { id: number; accepted: boolean } {
    const id = this.closures.length;
    const refusedBy = !this.lifecycle.admissionOpen
      ? 'shutdown'
      : this.w.breaker === 'open'
        ? 'breaker'
        : undefined;
    const accepted = refusedBy === undefined;
    const task: ClosureState = {
      id,
      body,
      state: accepted ? 'waiting' : 'refused',
      refusedBy,
      fates: 0,
      dropExpected: false,
    };
    this.closures.push(task);
    if (!accepted) return { id, accepted };
    // A full queue drops its oldest waiting task (synchronously, inside enqueue).
    if (this.closureWaiting.length >= this.params.maxQueue) {
      const victim = this.closures[this.closureWaiting[0] as number] as ClosureState;
      victim.dropExpected = true;
    }
    this.closureWaiting.push(id);
    this.lifecycle.workArrived();
    return { id, accepted };
  }

  /** The test is about to call `enqueue` on a worker that has shut down. */
  expectRefusal(): void {
    this.refusalsExpected++;
  }

  /** `shutdown({ timeoutMs })` is called, with the worker at rest. */
  shutdownStarted(now: number, timeoutMs: number): void {
    this.time = now;
    const nothingToDrain =
      this.runCount === 0 && this.closureWaiting.length === 0 && this.lifecycle.resting;
    this.lifecycle.shutdown(timeoutMs, nothingToDrain);
    this.timersArmed = false;
  }

  /** The machine's `release` ran: `shutdown()` resolves. */
  get finished(): boolean {
    return this.lifecycle.released;
  }

  /** At rest at `now` (the test checks): the machine's timers, the linger, then what the drain concludes. */
  atRest(now: number): void {
    this.advanceTo(now);
    const retryPending = this.durable.some(
      (t) => t.state === 'pending' && t.retryAt !== undefined && t.retryAt > now,
    );
    this.lifecycle.atRest({
      running: this.runCount > 0,
      ready: this.readySince.size > 0,
      closuresWaiting: this.closureWaiting.length,
      breaker: this.w.breaker,
      retryPending,
    });
    this.timersArmed = true;
  }

  /**
   * The shutdown resolved. Durable runs still going were aborted at the
   * deadline and released: each stays first in its key, its attempt not counted.
   */
  shutdownFinished(now: number): void {
    ensure(
      this.finished,
      `shutdown resolved at ${now} ms, but the lifecycle is ${this.lifecycle.state}`,
    );
    const closure = this.closureRun;
    ensure(
      closure === undefined,
      `the closure ${closure === undefined ? '' : describeCall(closure)} outlived the shutdown without a fate`,
    );
    for (const call of this.durableRuns.values()) {
      ensure(
        call.signal.aborted && call.signal.reason instanceof WorkerShutdownError,
        `the ${describeCall(call)} was released at shutdown without being aborted`,
        call.signal.reason,
      );
      const st = this.callState(call);
      // Its writes may have landed already, the answer still on its way: the next worker delivers them again.
      if (st.outcome === 'ok') for (const seq of call.refs) this.task(seq).lateOkAfterShutdown++;
      this.markAbandoned(call);
      st.byShutdown = true;
      this.coverage.restartsInterruptingARun++;
    }
    this.durableRuns.clear();
    this.probeRun = undefined;
  }

  /** A new worker opened the backlog: every key with pending tasks is ready, backoffs and splits forgotten. */
  restarted(): void {
    this.gen++;
    this.w = freshGeneration();
    this.lifecycle = this.freshLifecycle();
    this.readySince.clear();
    this.segments.clear();
    this.position++;
    for (const t of this.durable) {
      t.retryAt = undefined;
      if (t.state === 'pending') this.readySince.set(t.key, this.position);
    }
    // The new worker delivers what the last one left without waiting for new work.
    if (this.readySince.size > 0) this.lifecycle.workArrived();
    this.coverage.restarts++;
  }

  /** The remote recovers: every later run answers `ok` (bad data still fails). */
  heal(): void {
    this.answers = [];
    this.defaultAnswer = 'ok';
  }

  /** The runs in flight that are held and unanswered, oldest first: the test may settle them. */
  settleable(): Call[] {
    const runs = [...this.durableRuns.values()];
    if (this.closureRun !== undefined) runs.push(this.closureRun);
    return runs
      .filter((call) => call.answer === 'held' && this.callState(call).outcome === undefined)
      .sort((a, b) => a.no - b.no);
  }

  /** Runs in flight, durable and closure. */
  get runCount(): number {
    return this.durableRuns.size + (this.closureRun === undefined ? 0 : 1);
  }

  /** Whether a closure task could start now: one waits, and none runs (they share a key). */
  get closureStartable(): boolean {
    return this.closureWaiting.length > 0 && this.closureRun === undefined;
  }

  /** Whether the breaker's half-open probe is in flight, so the others must wait. */
  get probing(): boolean {
    return this.w.breaker === 'half_open' && this.probeRun !== undefined;
  }

  // --- the log -----------------------------------------------------------

  /** Checks every new entry of the real side's log against the model, in order. */
  consume(log: readonly Observed[]): void {
    while (this.consumed < log.length) {
      const e = log[this.consumed] as Observed;
      this.consumed++;
      this.position++;
      this.advanceTo(e.at);
      const where = `${describeEvent(e)} at ${e.at} ms`;
      if (this.awaitingFailedFor !== undefined) {
        ensure(
          e.type === 'failed' && e.ref === this.awaitingFailedFor,
          `${where}: onDeadLetter of d${this.awaitingFailedFor} must be followed by its one taskFailed`,
        );
      }
      const telling = this.telling;
      if (telling !== undefined) {
        ensure(
          e.type === telling.kind && e.ref === telling.call.refs[telling.told],
          `${where}: the outcome of the ${describeCall(telling.call)} is told to ${telling.told} of its tasks; each must hear it in turn, with nothing in between`,
        );
      }
      const gen = e.type === 'start' || e.type === 'remote' ? e.call.gen : e.gen;
      if (
        gen !== this.gen &&
        !(e.type === 'remote' && this.callState(e.call).status !== 'current')
      ) {
        ensure(
          e.type === 'failed' && e.ref === -1,
          `${where}: worker ${gen} acted after it shut down (worker ${this.gen} owns the backlog)`,
        );
      }
      switch (e.type) {
        case 'start':
          ensure(
            this.lifecycle.drain === 'running' && !this.lifecycle.lingering,
            `${where}: a run began while the lifecycle was ${this.lifecycle.state}, lingering or not running`,
          );
          this.startAny(e.call, where);
          if (e.call.kind === 'durable') this.startDurable(e.call, e.at, where);
          else this.startClosure(e.call, where);
          break;
        case 'remote':
          this.answered(e.call, e.outcome, e.error, where);
          break;
        case 'succeeded':
          this.succeeded(e, where);
          break;
        case 'retried':
          this.retried(e, where);
          break;
        case 'deadLetter':
          this.deadLettered(e, where);
          break;
        case 'failed':
          this.failed(e, where);
          break;
        case 'breaker':
          ensure(e.from === this.w.breaker, `${where}: the breaker was ${this.w.breaker}`);
          this.w.breaker = e.to;
          this.probeRun = undefined; // a new state, or a new spell: no probe out in it yet
          if (e.to === 'half_open') {
            // The worker may rotate the ring whenever it looks for the probe: the ready keys tie.
            this.spellTie = this.position;
            for (const k of this.readySince.keys()) this.readySince.set(k, this.spellTie);
          }
          this.lifecycle.breakerChanged();
          break;
        case 'fate':
          this.closureFate(e, where);
          break;
      }
    }
  }

  /** What holds for a run of either kind as it begins. */
  private startAny(call: Call, where: string): void {
    ensure(
      this.runCount < this.params.concurrency,
      `${where}: began beside ${this.runCount} runs in flight (concurrency ${this.params.concurrency})`,
    );
    ensure(call.breaker !== 'open', `${where}: a run began while the breaker was open`);
    ensure(
      !this.probing,
      `${where}: began while the half-open probe (${this.probeRun === undefined ? '' : describeCall(this.probeRun)}) was out: the others wait for its outcome`,
    );
    if (call.breaker === 'half_open') {
      ensure(
        !this.halfOpenSpells.has(call.spell),
        `${where}: a second run in one half-open spell: only the probe may run`,
      );
      this.halfOpenSpells.add(call.spell);
      this.probeRun = call;
    }
    if (this.runCount > 0) this.coverage.concurrentStarts++;
    if (this.params.concurrency > 1 && this.runCount === this.params.concurrency - 1) {
      this.coverage.fullStarts++;
    }
    this.calls.set(call.no, {
      status: 'current',
      byShutdown: false,
      outcome: undefined,
      error: undefined,
    });
  }

  private startDurable(call: Call, at: number, where: string): void {
    const key = call.key as string;
    const other = this.durableRuns.get(key);
    ensure(
      other === undefined,
      `${where}: began while the ${other === undefined ? '' : describeCall(other)} of its key was in flight: at most one run per key`,
    );
    const pending = this.pendingOf(key);
    const head = pending[0];
    ensure(
      head !== undefined && call.refs.every((seq, i) => pending[i]?.seq === seq),
      `${where}: a run must take its key's oldest pending tasks, in order (a task delivered or dead-lettered never runs again)`,
      call.refs,
      pending.map((t) => t.seq),
    );
    const tasks = call.refs.map((seq) => this.task(seq));
    ensure(
      tasks.every((t) => t.handler === call.handler),
      `${where}: a batch holds the tasks of one handler`,
      tasks.map((t) => t.handler),
      call.handler,
    );
    // A batch is the longest run of the key's oldest tasks with the head's handler, up to
    // batch.maxSize, or up to the front half while the key splits a failed batch.
    let sameHandler = 0;
    while (pending[sameHandler]?.handler === (head as DurableTaskState).handler) sameHandler++;
    const segment = this.segments.get(key)?.[0] ?? Number.POSITIVE_INFINITY;
    const size =
      call.handler === 'write' ? 1 : Math.min(this.params.batchSize, segment, sameHandler);
    ensure(
      call.refs.length === size,
      `${where}: the batch takes ${call.refs.length} task(s): of ${sameHandler} waiting with its handler, up to batch.maxSize ${this.params.batchSize}${segment === Number.POSITIVE_INFINITY ? '' : ` and the split's front half ${segment}`}, it must take ${size}`,
      call.refs,
      pending.slice(0, size).map((t) => t.seq),
    );
    tasks.forEach((t, i) => {
      const id = call.ids[i] as string;
      if (t.id === undefined) this.learnId(t, id);
      ensure(id === t.id, `${where}: d${t.seq} changed its id`, id, t.id);
      const attempt = call.attempts[i] as number;
      ensure(
        attempt === t.failedRuns + 1,
        `${where}: the attempt number of d${t.seq} is not failed runs + 1`,
        attempt,
        t.failedRuns + 1,
      );
      ensure(
        attempt - t.remoteFailures <= this.params.maxAttempts + t.splits,
        `${where}: counted attempts of d${t.seq} exceed retry.maxAttempts (${this.params.maxAttempts}, plus ${t.splits} split(s))`,
        attempt - t.remoteFailures,
      );
      ensure(
        t.retryAt === undefined || t.retryAt <= at,
        `${where}: d${t.seq} began before its retry backoff ended`,
        at,
        t.retryAt,
      );
    });
    const ready = this.readyKeys();
    if (call.breaker === 'half_open') {
      const oldest = Math.min(...ready.map((k) => (this.headOf(k) as DurableTaskState).seq));
      ensure(
        call.refs[0] === oldest,
        `${where}: the half-open probe must be the oldest kept task of the ready keys`,
        call.refs[0],
        oldest,
      );
      this.coverage.probes++;
    } else {
      // The kinds take turns: a durable run begins while a closure task could start only
      // if the last run to begin was a closure task's, begun while durable tasks were ready.
      const last = this.w.lastStart;
      ensure(
        !this.closureStartable || (last?.kind === 'closure' && last.durableReady),
        `${where}: a durable run began while closure task c${this.closureWaiting[0]} could start, after a ${last?.kind ?? 'fresh start'}${last?.kind === 'closure' && !last.durableReady ? ' begun with no durable task ready' : ''}: the kinds must take turns`,
      );
      // The ready keys form a ring: a key joins at the back (when its first task
      // is committed, its head finished with more behind it, its backoff ended, or
      // it split a batch), and the front one runs. Keys that joined together (a
      // restart, a probe) tie.
      const mine = this.readySince.get(key);
      ensure(mine !== undefined, `${where}: model: key ${key} began without being ready`);
      const ahead = ready.find((k) => (this.readySince.get(k) as number) < (mine as number));
      if (ready.length > 1) this.coverage.fairnessChecks++;
      ensure(
        ahead === undefined,
        `${where}: round robin broken: key ${key} went ahead of key ${ahead}, ready since earlier`,
      );
    }
    this.w.lastStart = { kind: 'durable', durableReady: true };
    this.readySince.delete(key);
    for (const t of tasks) t.retryAt = undefined;
    this.durableRuns.set(key, call);
    if (call.refs.length > 1) this.coverage.batches++;
    const scripted = this.answers.shift() ?? this.defaultAnswer;
    ensure(
      call.answer === scripted,
      `${where}: harness: the remote went off script`,
      call.answer,
      scripted,
    );
  }

  private startClosure(call: Call, where: string): void {
    const running = this.closureRun;
    ensure(
      running === undefined,
      `${where}: began while the ${running === undefined ? '' : describeCall(running)} was in flight: closure tasks without keys share one`,
    );
    const c = this.closure(call.refs[0] as number);
    ensure(
      c.state === 'waiting' && this.closureWaiting[0] === c.id,
      `${where}: closure tasks must run in enqueue order, each once`,
      { id: c.id, state: c.state },
      this.closureWaiting[0],
    );
    const ready = this.readyKeys();
    const durableReady = ready.length > 0;
    if (call.breaker === 'half_open') {
      ensure(
        !durableReady,
        `${where}: a closure task probed while durable tasks were kept (key ${ready[0]}): the probe is the oldest kept task`,
      );
    } else {
      ensure(
        !(this.w.lastStart?.kind === 'closure' && this.w.lastStart.durableReady && durableReady),
        `${where}: two closure runs in a row while durable tasks waited (key ${ready[0]}): the kinds must take turns`,
      );
    }
    this.w.lastStart = { kind: 'closure', durableReady };
    this.closureWaiting.shift();
    c.state = 'running';
    this.closureRun = call;
    this.coverage.closureRuns++;
  }

  private answered(call: Call, outcome: Outcome, error: Error | undefined, where: string): void {
    const st = this.callState(call);
    if (call.kind === 'closure') {
      ensure(st.outcome === undefined, `${where}: harness: a closure run answered twice`);
      st.outcome = outcome;
      st.error = error;
      return;
    }
    if (outcome === 'ok') {
      for (const seq of call.refs) {
        const t = this.task(seq);
        t.remoteOk++;
        if (st.status === 'abandoned' && st.byShutdown) t.lateOkAfterShutdown++;
        // The first write of a task lands after every earlier task of its key was
        // delivered (or given up for dead: an abandoned run of a dead task may land any time).
        if (t.remoteOk === 1 && t.state !== 'dead') {
          const overtaken = this.durable.find(
            (u) => u.key === t.key && u.seq > t.seq && u.remoteOk > 0 && u.state !== 'dead',
          );
          ensure(
            overtaken === undefined,
            `${where}: per-key order broken at the remote: d${overtaken?.seq} was delivered before d${t.seq}`,
          );
        }
      }
    }
    if (st.status === 'current') {
      ensure(
        this.durableRuns.get(call.key as string) === call,
        `${where}: harness: answer to a run that is not in flight`,
      );
      ensure(st.outcome === undefined, `${where}: harness: a run answered twice`);
      // The worker must act on it (checked at rest), unless a shutdown deadline
      // aborts the run first: then a write that landed is delivered again later.
      st.outcome = outcome;
      return;
    }
    ensure(st.status === 'abandoned', `${where}: harness: a finished run answered again`);
    if (outcome === 'ok') this.coverage.lateDeliveries++;
  }

  private succeeded(e: Extract<Observed, { type: 'succeeded' }>, where: string): void {
    const t = this.task(e.ref);
    const call = this.runOf(e.ref, where);
    const st = this.callState(call);
    const i = this.tell(call, 'succeeded', where);
    if (i === 0) {
      ensure(st.outcome === 'ok', `${where}: taskSucceeded, but the remote answered ${st.outcome}`);
    }
    ensure(t.succeededEvents === 0, `${where}: a second taskSucceeded for d${t.seq}`);
    ensure(e.attempts === call.attempts[i] && e.id === t.id, `${where}: the event's task`, e, call);
    t.state = 'delivered';
    t.succeededEvents++;
    t.acknowledgedOk++;
    this.w.completed++;
    this.coverage.deliveries++;
    if (this.told(call)) {
      st.status = 'done';
      this.finishRun(call);
    }
  }

  private retried(e: Extract<Observed, { type: 'retried' }>, where: string): void {
    const t = this.task(e.ref);
    const call = this.runOf(e.ref, where);
    const i = this.tell(call, 'retried', where);
    const telling = this.telling as Telling;
    const remoteDown = this.w.breaker === 'open';
    if (i === 0) {
      const outcome = this.failedRun(call, e.error, e.at, where);
      // The head decides: retried after a backoff while it has attempts left and the error
      // is retryable; otherwise a batch of several is split, and one task goes to the dead letters.
      const headRemote = t.remoteFailures + (remoteDown ? 1 : 0);
      const counted = e.attempt - headRemote;
      const backoff = outcome !== 'fatal' && counted < this.params.maxAttempts;
      ensure(
        backoff || call.refs.length > 1,
        `${where}: retried at attempt ${e.attempt} (${headRemote} the remote's) of ${this.params.maxAttempts} after ${outcome}: it must go to the dead letters`,
      );
      telling.mode = backoff ? 'backoff' : 'split';
      telling.delayMs = e.delayMs;
      telling.error = e.error;
      if (backoff) {
        const ceiling = Math.min(
          DURABLE_TIMING.retryMaxMs,
          DURABLE_TIMING.retryBaseMs * 2 ** (e.attempt - 1),
        );
        ensure(
          e.delayMs >= 0 && e.delayMs < ceiling,
          `${where}: the backoff is not within [0, ${ceiling})`,
          e.delayMs,
        );
      } else {
        ensure(e.delayMs === 0, `${where}: a split runs its halves at once`, e.delayMs);
      }
    } else {
      ensure(
        e.delayMs === telling.delayMs && e.error === telling.error,
        `${where}: the tasks of one batch are retried with one error and one delay`,
        { delayMs: e.delayMs, error: e.error },
        { delayMs: telling.delayMs, error: telling.error },
      );
    }
    ensure(
      e.attempt === call.attempts[i],
      `${where}: retried at attempt ${e.attempt}, but the run was attempt ${call.attempts[i]}`,
    );
    if (remoteDown) {
      t.remoteFailures++;
      this.coverage.remoteFailures++;
    }
    t.failedRuns = e.attempt;
    t.lastError = e.error.message;
    this.w.retried++;
    this.coverage.retries++;
    if (telling.mode === 'backoff') t.retryAt = e.at + e.delayMs;
    else t.splits++;
    if (!this.told(call)) return;
    const key = call.key as string;
    this.endRun(call);
    if (telling.mode === 'split') {
      // Run again at once, as two halves: the key joins the ring at the back.
      this.segments.set(key, splitSegments(this.segments.get(key), call.refs.length));
      this.makeReady(key);
      this.coverage.splits++;
    }
  }

  private deadLettered(e: Extract<Observed, { type: 'deadLetter' }>, where: string): void {
    const t = this.task(e.ref);
    const call = this.runOf(e.ref, where);
    ensure(
      call.refs.length === 1,
      `${where}: a batch of ${call.refs.length} goes to the dead letters whole: it must be split until one task is alone`,
    );
    const outcome = this.failedRun(call, e.error, e.at, where);
    const remoteDown = this.w.breaker === 'open';
    if (remoteDown) t.remoteFailures++;
    const counted = (call.attempts[0] as number) - t.remoteFailures;
    ensure(
      outcome === 'fatal' || counted >= this.params.maxAttempts,
      `${where}: a retryable failure went to the dead letters at attempt ${call.attempts[0]} (${t.remoteFailures} the remote's) of ${this.params.maxAttempts}, breaker ${this.w.breaker}`,
    );
    ensure(t.deadLetterCalls === 0, `${where}: a second onDeadLetter for d${t.seq}`);
    ensure(
      e.attempts === call.attempts[0] && e.id === t.id && e.reason === e.error.message,
      `${where}: the dead letter`,
      e,
      { attempts: call.attempts[0], id: t.id, reason: e.error.message },
    );
    t.state = 'dead';
    t.deadLetterCalls++;
    t.finalAttempt = call.attempts[0];
    t.lastError = e.error.message;
    this.w.deadLettered++;
    this.w.failed++;
    this.awaitingFailedFor = t.seq;
    if (t.bad && t.splits > 0) this.coverage.badFoundBySplit++;
    this.finishRun(call);
    this.coverage.deadLetters++;
  }

  private failed(e: Extract<Observed, { type: 'failed' }>, where: string): void {
    if (e.ref === -1) {
      ensure(this.refusalsExpected > 0, `${where}: an unexpected refusal`);
      ensure(e.error instanceof WorkerShutdownError, `${where}: refused with`, e.error);
      this.refusalsExpected--;
      this.w.refused++;
      return;
    }
    const t = this.task(e.ref);
    ensure(
      this.awaitingFailedFor === t.seq && t.failedEvents === 0,
      `${where}: taskFailed for a durable task whose fate is not (or already) told: d${t.seq} is ${t.state}`,
    );
    t.failedEvents++;
    this.awaitingFailedFor = undefined;
  }

  /** A failed durable run: checks its error against the answer and returns the answer. */
  private failedRun(call: Call, error: Error, at: number, where: string): Outcome | 'timeout' {
    const st = this.callState(call);
    if (error instanceof TaskTimeoutError) {
      ensure(
        st.outcome === undefined,
        `${where}: timed out after the remote answered ${st.outcome}`,
      );
      ensure(
        near(at, call.at + DURABLE_TIMING.timeoutMs),
        `${where}: timed out at the wrong time`,
        at,
        call.at + DURABLE_TIMING.timeoutMs,
      );
      ensure(
        call.signal.aborted && call.signal.reason === error,
        `${where}: the timed-out run's signal was not aborted with its TaskTimeoutError`,
      );
      this.w.timedOut++;
      this.markAbandoned(call);
      this.coverage.timeouts++;
      return 'timeout';
    }
    ensure(
      st.outcome === 'retryable' || st.outcome === 'fatal',
      `${where}: failed, but the remote answered ${st.outcome}`,
    );
    ensure(
      (st.outcome === 'fatal') === error instanceof NonRetryableError,
      `${where}: the failure's error does not match the remote's answer ${st.outcome}`,
      error,
    );
    st.status = 'done';
    return st.outcome as Outcome;
  }

  private closureFate(e: Extract<Observed, { type: 'fate' }>, where: string): void {
    const c = this.closure(e.ref);
    c.fates++;
    ensure(c.fates === 1, `${where}: a second fate for closure c${c.id}`);
    const error = e.ok ? undefined : (e.value as Error);
    const w = this.w;
    if (c.state === 'refused') {
      const ErrorClass = c.refusedBy === 'shutdown' ? WorkerShutdownError : BreakerOpenError;
      ensure(error instanceof ErrorClass, `${where}: a refused task's fate`, e.value);
      w.refused++;
    } else if (c.state === 'waiting') {
      ensure(error !== undefined, `${where}: a closure task succeeded without running`);
      if (error instanceof QueueOverflowError) {
        ensure(c.dropExpected, `${where}: dropped, but it was not the oldest of a full queue`);
        w.dropped++;
      } else if (error instanceof BreakerOpenError) {
        ensure(w.breaker === 'open', `${where}: failed fast while the breaker was ${w.breaker}`);
        w.failed++;
      } else {
        ensure(
          error instanceof WorkerShutdownError &&
            this.lifecycle.abandoned &&
            near(e.at, this.lifecycle.deadline as number),
          `${where}: a waiting task failed with`,
          error,
        );
        w.failed++;
      }
      this.closureWaiting = this.closureWaiting.filter((id) => id !== c.id);
    } else {
      const run = this.closureRun;
      ensure(
        c.state === 'running' && run !== undefined && run.refs[0] === c.id,
        `${where}: the fate of a closure task that is not running`,
      );
      const call = run as Call;
      const st = this.callState(call);
      if (error === undefined) {
        const expected =
          c.body === 'sync' ? c.id : st.outcome === 'ok' ? `done ${c.id}` : undefined;
        ensure(
          expected !== undefined && e.value === expected,
          `${where}: the success value`,
          e.value,
          expected,
        );
        w.completed++;
        st.status = 'done';
      } else if (error instanceof TaskTimeoutError) {
        ensure(
          c.body === 'held' && st.outcome === undefined,
          `${where}: timed out, but the run had answered`,
        );
        ensure(
          near(e.at, call.at + DURABLE_TIMING.timeoutMs),
          `${where}: timed out at the wrong time`,
          e.at,
          call.at + DURABLE_TIMING.timeoutMs,
        );
        w.timedOut++;
        w.failed++;
        this.markAbandoned(call);
      } else if (error instanceof WorkerShutdownError) {
        ensure(
          c.body === 'held' &&
            st.outcome === undefined &&
            this.lifecycle.abandoned &&
            near(e.at, this.lifecycle.deadline as number),
          `${where}: a running task failed with WorkerShutdownError away from the shutdown deadline`,
        );
        w.failed++;
        this.markAbandoned(call);
      } else {
        const thrown = c.body === 'throw' ? call.error : st.error;
        ensure(error === thrown, `${where}: the failure is not what the task threw`, error, thrown);
        w.failed++;
        st.status = 'done';
      }
      this.closureRun = undefined;
      if (this.probeRun === call) this.probeRun = undefined;
    }
    c.state = 'done';
  }

  // --- reading the model -------------------------------------------------

  task(seq: number): DurableTaskState {
    const t = this.durable[seq];
    if (t === undefined) throw new Error(`model: no durable task ${seq}`);
    return t;
  }

  pendingOf(key: string): DurableTaskState[] {
    return this.durable.filter((t) => t.key === key && t.state === 'pending');
  }

  get pendingCount(): number {
    return this.durable.filter((t) => t.state === 'pending').length;
  }

  /** Keys whose oldest pending task could begin now (in the worker's ring of ready keys). */
  readyKeys(): string[] {
    return [...this.readySince.keys()];
  }

  /** Makes the keys whose backoff ended by `now` ready, as the worker's retry timer does (work arrived). */
  promote(now: number): void {
    for (const t of this.durable) {
      if (t.state !== 'pending' || t.retryAt === undefined || t.retryAt > now) continue;
      if (this.readySince.has(t.key) || this.durableRuns.has(t.key)) continue;
      this.makeReady(t.key);
      this.lifecycle.workArrived();
    }
  }

  /** The fields of `stats()` the model determines. */
  stats() {
    const w = this.w;
    return {
      backlog: this.pendingCount,
      queued: this.closureWaiting.length,
      running: this.runCount,
      completed: w.completed,
      failed: w.failed,
      retried: w.retried,
      deadLettered: w.deadLettered,
      timedOut: w.timedOut,
      dropped: w.dropped,
      refused: w.refused,
      breakerState: w.breaker,
      timeoutMs: DURABLE_TIMING.timeoutMs,
    };
  }

  get breakerState(): BreakerState {
    return this.w.breaker;
  }

  /** Whether everything the log told has been answered for (no fate half told, no refusal missing). */
  get settledLog(): boolean {
    return (
      this.awaitingFailedFor === undefined &&
      this.refusalsExpected === 0 &&
      this.telling === undefined
    );
  }

  callState(call: Call): CallState {
    const st = this.calls.get(call.no);
    if (st === undefined) throw new Error(`model: no run ${call.no}`);
    return st;
  }

  learnId(t: DurableTaskState, id: string): void {
    const other = this.ids.get(id);
    ensure(other === undefined, `d${t.seq} has the id of d${other}`, id);
    this.ids.set(id, t.seq);
    t.id = id;
  }

  private freshLifecycle(): LifecycleModel {
    return new LifecycleModel(() => this.time, DURABLE_TIMING.idleAfterMs);
  }

  /** Moves the model's time to `at`: backoffs, the machine's timers and the linger due by then end. */
  private advanceTo(at: number): void {
    this.time = Math.max(this.time, at);
    this.promote(at);
    if (this.timersArmed) this.lifecycle.fireTimers();
    const lingerEnd = this.lifecycle.lingerEndsAt();
    if (lingerEnd !== undefined && lingerEnd <= at + EPS) this.lifecycle.lingerEnded();
  }

  private headOf(key: string): DurableTaskState | undefined {
    return this.durable.find((t) => t.key === key && t.state === 'pending');
  }

  private closure(id: number): ClosureState {
    const c = this.closures[id];
    if (c === undefined) throw new Error(`model: no closure task ${id}`);
    return c;
  }

  /** The durable run in flight (or being told) that holds task `seq`. */
  private runOf(seq: number, where: string): Call {
    const telling = this.telling?.call;
    if (telling?.refs.includes(seq)) return telling;
    const key = this.task(seq).key;
    const call = this.durableRuns.get(key);
    ensure(
      call?.refs.includes(seq) === true,
      `${where}: a fate for d${seq}, which is not in flight (key ${key}: ${call === undefined ? 'nothing' : `the ${describeCall(call)}`} in flight)`,
    );
    return call as Call;
  }

  /**
   * Task `seq`'s share of `call`'s outcome, which is told to its tasks in order:
   * returns the task's place in the call.
   */
  private tell(call: Call, kind: Telling['kind'], where: string): number {
    if (this.telling === undefined) {
      this.telling = { call, kind, told: 0, mode: undefined, delayMs: 0, error: undefined };
    }
    const telling = this.telling;
    ensure(
      telling.call === call && telling.kind === kind,
      `${where}: harness: a ${kind} told while another outcome was being told`,
    );
    return telling.told++;
  }

  /** Whether every task of `call` has heard its outcome (and the telling ends). */
  private told(call: Call): boolean {
    const telling = this.telling;
    if (telling === undefined || telling.call !== call) return true;
    if (telling.told < call.refs.length) return false;
    this.telling = undefined;
    return true;
  }

  /** The run is no longer in flight: its key can run again (when ready). */
  private endRun(call: Call): void {
    if (this.durableRuns.get(call.key as string) === call)
      this.durableRuns.delete(call.key as string);
    if (this.probeRun === call) this.probeRun = undefined;
  }

  /** The run ended with its tasks' fates: the key goes to the back of the ring if it has more. */
  private finishRun(call: Call): void {
    const key = call.key as string;
    this.endRun(call);
    const rest = consumeSegments(this.segments.get(key), call.refs.length);
    if (rest === undefined) this.segments.delete(key);
    else this.segments.set(key, rest);
    if (this.pendingOf(key).length > 0) this.makeReady(key);
  }

  /** `key` joins the ring at the back (in a half-open spell: beside every key ready in it). */
  private makeReady(key: string): void {
    this.readySince.set(key, this.w.breaker === 'half_open' ? this.spellTie : this.position);
  }

  private markAbandoned(call: Call): void {
    this.callState(call).status = 'abandoned';
    if (call.answer === 'held') this.abandonedHeld.push(call);
  }
}
