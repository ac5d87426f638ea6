/**
 * The breaker's generated paths (the same as `test/generated/breaker.transitions.test.ts`),
 * driven through a real `CircuitBreaker` by its public API alone. A resumed breaker is built
 * from the `initialState` a `toJSON()` gave before a restart, at a fixed wall-clock time.
 */
import { expect, vi } from 'vitest';
import { SimulatedClock, type SnapshotFrom } from 'xstate';
import { breakerMachine } from '../../machines/breaker.machine.js';
import {
  BreakerHalfOpenError,
  BreakerOpenError,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerStateChange,
  CircuitBreaker,
} from '../../src/index.js';
import {
  type BreakerSuite,
  breakerInput,
  breakerSuites,
  permitTimeoutMs,
  resumedOpenMs,
} from '../generated/breaker.paths.js';
import {
  describeRuntimePathSets,
  type RuntimeDriver,
  type RuntimeStep,
} from '../support/runtime-coverage.js';

type Step = RuntimeStep<typeof breakerMachine>;

interface World {
  suite: BreakerSuite;
  breaker: CircuitBreaker;
  clock: SimulatedClock;
  /** What the breaker's `stateChange` listener heard. */
  heard: BreakerStateChange[];
  /** What it should have heard, from the model's states. */
  expectedChanges: BreakerStateChange[];
  /** The failure streak, counted here from the events (the model's own count is abstracted). */
  expectedFailures: number;
}

/**
 * The public state a model snapshot stands for: `half_open`'s substates are internal, and
 * no snapshot shows `starting` (it is left in the step the actor starts in).
 */
function publicState(snapshot: SnapshotFrom<typeof breakerMachine>): BreakerState {
  const { value } = snapshot;
  if (value === 'starting') throw new Error('a snapshot showed the transient starting state');
  return typeof value === 'string' ? value : 'half_open';
}

function isProbing(snapshot: SnapshotFrom<typeof breakerMachine>): boolean {
  return snapshot.matches({ half_open: 'probing' });
}

/** The delayed step's length: `xstate.after.<delay>.<state id>`. */
function delayOf(world: World, { event, history }: Step): number {
  if (event.type.startsWith('xstate.after.probeInterval.'))
    return world.suite.openPeriodMs(history);
  if (event.type.startsWith('xstate.after.probeTimeout.')) return permitTimeoutMs(history);
  throw new Error(`no delay known for ${event.type}`);
}

/**
 * Lets a timer fire by the clock alone: up to 1 ms short of it, where nothing may have
 * moved yet, then the last 1 ms. This checks the timer's length, not only that it exists.
 */
function elapse(world: World, step: Step): void {
  const ms = delayOf(world, step);
  world.clock.increment(ms - 1);
  expect(world.breaker.state, `state 1 ms before ${step.event.type}`).toBe(
    publicState(step.before),
  );
  world.clock.increment(1);
}

/** The failure streak after the step, counted from the step's event and the state before it. */
function failuresAfter(failures: number, { event, before }: Step): number {
  const open = publicState(before) === 'open';
  switch (event.type) {
    case 'FAILURE':
      return open ? failures : failures + 1; // ignored while open
    case 'SUCCESS':
      return open ? failures : 0;
    case 'RESET':
      return 0;
    default:
      // An unreported permit counts as a failed probe.
      return event.type.startsWith('xstate.after.probeTimeout.') ? failures + 1 : failures;
  }
}

/**
 * What `allow()` would answer, checked only where asking takes nothing: in `half_open`
 * before the permit is taken, `allow()` would take it, so the state alone is checked there.
 */
async function expectAdmission(world: World, after: Step['after'], label: string): Promise<void> {
  const { breaker } = world;
  const state = publicState(after);
  expect(breaker.isOpen, `isOpen after ${label}`).toBe(state === 'open');
  if (state === 'half_open' && !isProbing(after)) return;
  const admits = state === 'closed';
  expect(breaker.allow(), `allow() after ${label}`).toBe(admits);
  if (admits) return;
  // Refused calls never run: the error says why, without moving the breaker.
  let ran = false;
  const refusal = breaker.execute(() => {
    ran = true;
  });
  const expected = state === 'open' ? BreakerOpenError : BreakerHalfOpenError;
  const error = await refusal.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, `execute() refusal after ${label}`).toBeInstanceOf(expected);
  if (state === 'open') expect(error).not.toBeInstanceOf(BreakerHalfOpenError);
  expect(ran, `execute() ran fn after ${label}`).toBe(false);
}

/** The wall clock while a path runs: a resumed breaker's remaining time is computed from it. */
const NOW = 1_800_000_000_000;

/**
 * What `toJSON()` gave before the restart each suite resumes from. The half-open one was
 * saved `open` longer ago than an interval: it resumes ready for its probe.
 */
const savedBefore: Record<string, BreakerSnapshot | undefined> = {
  fresh: undefined,
  'resumed open': {
    state: 'open',
    consecutiveFailures: 2,
    openedAt: NOW - (breakerInput.probeIntervalMs - resumedOpenMs),
  },
  'resumed half_open': {
    state: 'open',
    consecutiveFailures: 2,
    openedAt: NOW - 5 * breakerInput.probeIntervalMs,
  },
};

function driverFor(suite: BreakerSuite): RuntimeDriver<typeof breakerMachine, World> {
  return {
    setUp(inspect): World {
      vi.useFakeTimers({ toFake: ['Date'], now: NOW });
      const clock = new SimulatedClock();
      const initialState = savedBefore[suite.label];
      const breaker = new CircuitBreaker({ ...breakerInput, clock, inspect, initialState });
      const heard: BreakerStateChange[] = [];
      breaker.on('stateChange', (change) => heard.push(change));
      const expectedFailures = initialState?.consecutiveFailures ?? 0;
      return { suite, breaker, clock, heard, expectedChanges: [], expectedFailures };
    },

    step(world, step) {
      const { breaker } = world;
      const { event } = step;
      switch (event.type) {
        case 'FAILURE':
          breaker.recordFailure();
          break;
        case 'SUCCESS':
          breaker.recordSuccess();
          break;
        case 'PROBE':
          expect(breaker.allow(event.timeoutMs), 'allow() hands out the permit').toBe(true);
          break;
        case 'RESET':
          breaker.reset();
          break;
        default:
          elapse(world, step);
      }
      world.expectedFailures = failuresAfter(world.expectedFailures, step);
      const from = publicState(step.before);
      const to = publicState(step.after);
      if (from !== to) world.expectedChanges.push({ from, to });
    },

    async check(world, step, label) {
      const { breaker } = world;
      const { after } = step;
      expect(breaker.state, `state after ${label}`).toBe(publicState(after));
      expect(breaker.consecutiveFailures, `consecutiveFailures after ${label}`).toBe(
        world.expectedFailures,
      );
      // The model's count is abstracted above the threshold: compare through the same cap.
      const cap = (n: number) => Math.min(n, breakerInput.failureThreshold);
      expect(cap(world.expectedFailures), `failure streak of the model at ${label}`).toBe(
        cap(after.context.consecutiveFailures),
      );
      expect(world.heard, `stateChange events after ${label}`).toEqual(world.expectedChanges);
      await expectAdmission(world, after, label);
    },

    tearDown(world) {
      world.breaker.dispose();
      vi.useRealTimers();
    },
  };
}

describeRuntimePathSets(
  'breaker',
  breakerMachine,
  breakerSuites.map((suite) => ({
    label: suite.label,
    paths: suite.paths,
    driver: driverFor(suite),
  })),
);
