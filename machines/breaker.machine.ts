import { assign, setup } from 'xstate';

/** The breaker's three states, as the reference names them. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * Where a breaker starts when it resumes a state kept from before (a
 * restart): the state, its failure streak and, for `open`, what is left of
 * the open period. Delayed transitions are not restored from a persisted
 * snapshot (XState does not fire them), so the remaining time comes in here
 * and starts a fresh timer on this actor's clock.
 */
export interface BreakerStart {
  state: BreakerState;
  consecutiveFailures: number;
  /** In `open`: ms until the probe, at most `probeIntervalMs`. */
  openForMs?: number;
}

/** What the breaker machine is started with. All times are milliseconds on the actor's clock. */
export interface BreakerInput {
  /** Consecutive failures in `closed` that open the breaker. */
  failureThreshold: number;
  /** How long `open` lasts before one probe is let through. */
  probeIntervalMs: number;
  /** How long a probe permit may go unreported before it counts as a failed probe. */
  probeTimeoutMs: number;
  /** Where to start; without it, `closed` with no failures. */
  start?: BreakerStart;
}

/** The breaker's context: its settings plus the failure streak. */
export interface BreakerContext extends Omit<BreakerInput, 'start'> {
  consecutiveFailures: number;
  /** The unreported-permit limit of the probe now in flight. */
  permitTimeoutMs: number;
  /** How long the current (or next) open period lasts: `probeIntervalMs`, except a resumed one. */
  openForMs: number;
  /** The state `starting` leads to. */
  startIn: BreakerState;
}

/** Events the breaker accepts. Successes in a healthy `closed` breaker are never sent. */
export type BreakerEvent =
  | { type: 'SUCCESS' }
  | { type: 'FAILURE' }
  /** The one half-open permit was handed out; `timeoutMs` overrides how long it may stay unreported. */
  | { type: 'PROBE'; timeoutMs?: number }
  | { type: 'RESET' };

/**
 * Circuit breaker: `closed` → `open` after `failureThreshold` consecutive
 * failures, `open` → `half_open` after `probeIntervalMs`, then one probe decides.
 * It starts `closed`, unless its input's `start` resumes `open` (for the
 * rest of an open period) or `half_open`.
 *
 * Outcomes reported while `open` are ignored: they belong to calls made before
 * the breaker opened (Polly's lesson). In `half_open` every outcome decides,
 * whether or not the permit was handed out (`PROBE`), as in the Python
 * reference: a caller that admits itself by looking at the state and reports by
 * hand never takes the permit, and would otherwise leave the breaker stuck in
 * `half_open`. Dropping outcomes of calls that began before a state change is
 * the sender's job (`CircuitBreaker.execute` and `SyncWorker` track the
 * breaker's generation); this machine cannot tell an old outcome from a new one.
 */
export const breakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
  },
  guards: {
    failureThresholdReached: ({ context }) =>
      context.consecutiveFailures + 1 >= context.failureThreshold,
    startsOpen: ({ context }) => context.startIn === 'open',
    startsHalfOpen: ({ context }) => context.startIn === 'half_open',
  },
  actions: {
    countFailure: assign({ consecutiveFailures: ({ context }) => context.consecutiveFailures + 1 }),
    clearFailures: assign({ consecutiveFailures: 0 }),
    holdProbePermit: assign({
      permitTimeoutMs: ({ context, event }) =>
        (event.type === 'PROBE' ? event.timeoutMs : undefined) ?? context.probeTimeoutMs,
    }),
    // A resumed open period is shorter; every later one is the full interval.
    fullOpenPeriods: assign({ openForMs: ({ context }) => context.probeIntervalMs }),
  },
  delays: {
    probeInterval: ({ context }) => context.openForMs,
    probeTimeout: ({ context }) => context.permitTimeoutMs,
  },
}).createMachine({
  id: 'breaker',
  context: ({ input: { start, ...settings } }) => ({
    ...settings,
    consecutiveFailures: start?.consecutiveFailures ?? 0,
    permitTimeoutMs: settings.probeTimeoutMs,
    openForMs: start?.openForMs ?? settings.probeIntervalMs,
    startIn: start?.state ?? 'closed',
  }),
  // `starting` is left in the same step the actor starts in: no snapshot ever shows it.
  initial: 'starting',
  on: {
    RESET: { target: '.closed', actions: 'clearFailures' },
  },
  states: {
    starting: {
      always: [
        { guard: 'startsOpen', target: 'open' },
        { guard: 'startsHalfOpen', target: 'half_open' },
        { target: 'closed' },
      ],
    },
    closed: {
      on: {
        FAILURE: [
          { guard: 'failureThresholdReached', target: 'open', actions: 'countFailure' },
          { actions: 'countFailure' },
        ],
        SUCCESS: { actions: 'clearFailures' },
      },
    },
    open: {
      after: { probeInterval: 'half_open' },
      exit: 'fullOpenPeriods',
    },
    half_open: {
      initial: 'awaitingProbe',
      // On half_open itself, not on `probing`: an outcome decides in both substates.
      on: {
        SUCCESS: { target: 'closed', actions: 'clearFailures' },
        FAILURE: { target: 'open', actions: 'countFailure' },
      },
      states: {
        awaitingProbe: {
          on: { PROBE: { target: 'probing', actions: 'holdProbePermit' } },
        },
        probing: {
          after: { probeTimeout: { target: '#breaker.open', actions: 'countFailure' } },
        },
      },
    },
  },
});
