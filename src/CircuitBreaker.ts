import { type ActorRefFrom, createActor, type SnapshotFrom } from 'xstate';
import { type BreakerState, breakerMachine } from '../machines/breaker.machine.js';
import { sendIfActive } from './actorSend.js';
import { breakerSettings, type CircuitBreakerOptions } from './breakerOptions.js';
import { type BreakerSnapshot, breakerSnapshotOption } from './breakerSnapshot.js';
import { systemClock } from './clock.js';
import { Emitter, type Unsubscribe } from './Emitter.js';
import { BreakerHalfOpenError } from './errors/BreakerHalfOpenError.js';
import { BreakerOpenError } from './errors/BreakerOpenError.js';
import { cheapErrors } from './errors/SyncWorkerError.js';
import type { Inspect } from './inspect.js';
import { type Logger, quietLogger } from './logger.js';
import { clockOption, delayMs, inspectOption, loggerOption } from './validate.js';

export type { BreakerState } from '../machines/breaker.machine.js';
export {
  breakerSettings,
  type CircuitBreakerOptions,
  WORKER_PROVIDED_BREAKER_OPTIONS,
} from './breakerOptions.js';
export type { BreakerSnapshot } from './breakerSnapshot.js';

/** Payload of the `stateChange` event. */
export interface BreakerStateChange {
  from: BreakerState;
  to: BreakerState;
}

/** Events of {@link CircuitBreaker}. */
export interface CircuitBreakerEvents {
  stateChange: BreakerStateChange;
}

/** The breaker's actor, for `.actor`. */
export type CircuitBreakerActor = ActorRefFrom<typeof breakerMachine>;

const OWNER = 'CircuitBreaker';
/** `execute`'s refusal messages, as the error classes' defaults: cheap errors skip the constructor. */
const OPEN_MESSAGE = 'circuit breaker open';
const HALF_OPEN_MESSAGE = 'circuit breaker half-open: its one probe is in flight';
const newOpenError = cheapErrors(BreakerOpenError);
const newHalfOpenError = cheapErrors(BreakerHalfOpenError);

/**
 * A promise that rejects one microtask from now. Node charges an already
 * rejected promise (`Promise.reject`) about 1.5 µs of unhandled-rejection
 * bookkeeping when it is awaited; one rejected after the caller has attached
 * its handler costs about 0.4 µs. The breaker's open path is this, per call.
 */
function rejectSoon(error: Error): Promise<never> {
  return new Promise((_resolve, reject) => queueMicrotask(() => reject(error)));
}

type BreakerValue = SnapshotFrom<typeof breakerMachine>['value'];

/** The public state of a machine state: `half_open`'s substates are internal, `starting` is never seen. */
function publicState(value: BreakerValue): BreakerState {
  return typeof value === 'string' ? (value === 'starting' ? 'closed' : value) : 'half_open';
}

function isProbing(value: BreakerValue): boolean {
  return typeof value !== 'string' && value.half_open === 'probing';
}

/**
 * How many times `breaker`'s state (or its half-open permit) has changed. An
 * outcome whose call began under another count belongs to an earlier state
 * and is not reported; `execute` and `SyncWorker` use this. A function beside
 * the class, not a member, so JavaScript users do not find it on a breaker.
 * @internal
 */
export let generationOf: (breaker: CircuitBreaker) => number;

/**
 * A circuit breaker: `closed` → `open` after `failureThreshold` consecutive
 * failures, `open` → `half_open` after `probeIntervalMs`, and in `half_open`
 * exactly one probe permit decides between `closed` and `open` again.
 *
 * The state lives in an XState actor (`.actor`), but asking and reporting are
 * plain calls: the actor hears only what changes its state (a failure, a
 * success that ends a streak, the permit being taken, a reset).
 */
export class CircuitBreaker {
  static {
    generationOf = (breaker) => breaker.#changes;
  }

  /** The XState actor that holds the breaker's state, for inspection. */
  readonly actor: CircuitBreakerActor;
  readonly #ownsActor: boolean;
  readonly #logger: Logger;
  readonly #events: Emitter<CircuitBreakerEvents>;
  readonly #subscription: { unsubscribe(): void };
  #current: BreakerState = 'closed';
  #probing = false;
  #failures = 0;
  #changes = 0;
  /** Wall-clock ms when the breaker last opened, while it is not closed: for {@link toJSON}. */
  #openedAt: number | undefined;

  /**
   * @param options see {@link CircuitBreakerOptions}; invalid values throw a
   *   `TypeError` or `RangeError` naming the option.
   * @param boundActor internal: a breaker actor owned by a `SyncWorker`.
   */
  constructor(options: CircuitBreakerOptions = {}, boundActor?: CircuitBreakerActor) {
    const input = breakerSettings(OWNER, options, true);
    const o = options ?? {};
    this.#logger = loggerOption(OWNER, o.logger) ?? quietLogger;
    this.#events = new Emitter<CircuitBreakerEvents>(['stateChange'], (type, error) =>
      this.#logger.error?.(`${OWNER}: a "${type}" listener threw`, error),
    );
    this.#ownsActor = boundActor === undefined;
    this.actor =
      boundActor ??
      createActor(breakerMachine, {
        input,
        clock: clockOption(OWNER, o.clock) ?? systemClock,
        inspect: inspectOption<Inspect>(OWNER, o.inspect),
      });
    this.#resume(o.initialState);
    this.#subscription = this.actor.subscribe((snapshot) => this.#onSnapshot(snapshot));
    if (this.#ownsActor) this.actor.start();
    else this.#onSnapshot(this.actor.getSnapshot());
  }

  /**
   * Takes the state the actor starts in as this breaker's own, without a
   * `stateChange`: a breaker resumed `open` did not just open.
   */
  #resume(initialState: BreakerSnapshot | undefined): void {
    const first = this.actor.getSnapshot();
    this.#current = publicState(first.value);
    this.#probing = isProbing(first.value);
    this.#failures = first.context.consecutiveFailures;
    if (this.#current === 'closed') return;
    this.#openedAt = breakerSnapshotOption(OWNER, initialState)?.openedAt ?? Date.now();
    this.#logger.info?.(`circuit breaker: resumed ${this.#current}`);
  }

  /** The current state. Reading it has no side effect: use it for admission checks. */
  get state(): BreakerState {
    return this.#current;
  }

  /** Whether the breaker is open (refusing every call). No side effect. */
  get isOpen(): boolean {
    return this.#current === 'open';
  }

  /** Failures in a row so far (reset by a success in `closed` or a good probe). */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /**
   * Whether a call may proceed now. In `half_open` this hands out the single
   * probe permit: `true` once, then `false` until the probe is reported or its
   * permit times out. Use {@link state} to look without taking the permit.
   *
   * @param probeTimeoutMs how long this call's permit may go unreported; default `probeTimeoutMs`.
   */
  allow(probeTimeoutMs?: number): boolean {
    // Checked in every state, so a bad value fails in tests, not at the first half-open in production.
    const timeoutMs =
      probeTimeoutMs === undefined
        ? undefined
        : delayMs(OWNER, 'probeTimeoutMs', probeTimeoutMs, 0, false);
    if (this.#current === 'closed') return true;
    if (this.#current === 'open' || this.#probing) return false;
    sendIfActive(this.actor, { type: 'PROBE', timeoutMs });
    return true;
  }

  /**
   * Reports a successful call. In `closed` it ends the failure streak (and is
   * free when there is none). In `half_open` it closes the breaker, whether or
   * not {@link allow} handed out the probe permit, as the Python reference
   * does: a caller that admits with `!isOpen` and reports by hand decides the
   * probe too. Ignored while `open`. A raw report cannot tell an old call from
   * a new one; {@link execute} drops outcomes of calls begun before a state change.
   */
  recordSuccess(): void {
    // The free path is `closed` only; half_open always has a streak, but must always send.
    if (this.#current === 'closed' && this.#failures === 0) return;
    sendIfActive(this.actor, { type: 'SUCCESS' });
  }

  /**
   * Reports a failed call. In `closed` it counts towards `failureThreshold`. In
   * `half_open` it reopens the breaker (a fresh `probeIntervalMs`), whether or
   * not {@link allow} handed out the probe permit. Ignored while `open`: it
   * belongs to a call made before the breaker opened. {@link execute} drops
   * outcomes of calls begun before a state change.
   */
  recordFailure(): void {
    sendIfActive(this.actor, { type: 'FAILURE' });
  }

  /** Closes the breaker and clears the failure streak, from any state. */
  reset(): void {
    sendIfActive(this.actor, { type: 'RESET' });
  }

  /**
   * Runs `fn` under the breaker, like cockatiel's or opossum's `execute`.
   * When refused it rejects without running `fn`: with {@link BreakerOpenError}
   * while open, and with its subclass {@link BreakerHalfOpenError} while the
   * half-open probe is in flight. Otherwise it reports `fn`'s outcome and
   * settles as `fn` does.
   *
   * Unlike a raw {@link recordSuccess} / {@link recordFailure}, the outcome is
   * reported only if the breaker has not changed state (or permit) since `fn`
   * began: a call started while `closed` that settles after the breaker went
   * `half_open` does not decide the probe.
   */
  execute<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    if (!this.allow()) {
      // allow() refuses in half_open only while the one probe is in flight.
      return rejectSoon(
        this.#current === 'half_open'
          ? newHalfOpenError(HALF_OPEN_MESSAGE)
          : newOpenError(OPEN_MESSAGE),
      );
    }
    return this.#runReported(fn, this.#changes);
  }

  async #runReported<T>(fn: () => T | PromiseLike<T>, generation: number): Promise<T> {
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      if (generation === this.#changes) this.recordFailure();
      throw error;
    }
    if (generation === this.#changes) this.recordSuccess();
    return value;
  }

  /**
   * The state as plain JSON, as cockatiel's and opossum's breakers offer:
   * keep it across a restart and pass it back as the `initialState` option.
   * `openedAt` is wall-clock ms, so it still means something to another process.
   */
  toJSON(): BreakerSnapshot {
    const snapshot: BreakerSnapshot = { state: this.#current, consecutiveFailures: this.#failures };
    if (this.#openedAt !== undefined) snapshot.openedAt = this.#openedAt;
    return snapshot;
  }

  /** Listens for state changes; returns a function that stops listening. */
  on<K extends keyof CircuitBreakerEvents>(
    type: K,
    listener: (event: CircuitBreakerEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(type, listener);
  }

  /** Stops the breaker's own actor and its timers. On a breaker a `SyncWorker` created, it does nothing: the worker stops it. */
  dispose(): void {
    // A worker's own breaker is the worker's to stop; detaching it here would freeze its state.
    if (!this.#ownsActor) return;
    this.#subscription.unsubscribe();
    this.actor.stop();
  }

  #onSnapshot(snapshot: SnapshotFrom<typeof breakerMachine>): void {
    const state = publicState(snapshot.value);
    const probing = isProbing(snapshot.value);
    this.#failures = snapshot.context.consecutiveFailures;
    if (state === this.#current && probing === this.#probing) return;
    this.#changes++;
    this.#probing = probing;
    if (state === this.#current) return;
    const change = { from: this.#current, to: state };
    this.#current = state;
    if (state === 'open') this.#openedAt = Date.now();
    else if (state === 'closed') this.#openedAt = undefined;
    this.#logChange(change);
    this.#events.emit('stateChange', change);
  }

  #logChange({ from, to }: BreakerStateChange): void {
    if (to === 'open') {
      const why = from === 'half_open' ? 'probe failed' : `${this.#failures} consecutive failures`;
      this.#logger.warn?.(`circuit breaker: ${why} → open`);
    } else {
      this.#logger.info?.(`circuit breaker: ${from} → ${to}`);
    }
  }
}
