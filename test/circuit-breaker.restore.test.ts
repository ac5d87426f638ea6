/**
 * `CircuitBreaker.toJSON()` and the `initialState` option: a breaker kept across a
 * restart without a backlog, as cockatiel and opossum offer. The wall clock is vitest's
 * fake `Date` (nothing else is faked); the breaker's timers run on a SimulatedClock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type BreakerSnapshot, CircuitBreaker, type CircuitBreakerOptions } from '../src/index.js';
import { recordingLogger } from './support/tasks.js';

const T = 1_800_000_000_000;
const settings = { failureThreshold: 2, probeIntervalMs: 10_000 };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: T });
});
afterEach(() => {
  vi.useRealTimers();
});

function breakerWith(options: CircuitBreakerOptions = {}) {
  const clock = new SimulatedClock();
  const breaker = new CircuitBreaker({ ...settings, clock, ...options });
  return { breaker, clock };
}

describe('toJSON', () => {
  it('says the state, the streak and, once opened, when by the wall clock', () => {
    const { breaker, clock } = breakerWith();
    expect(breaker.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 0 });
    breaker.recordFailure();
    expect(breaker.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 1 });
    vi.setSystemTime(T + 500);
    breaker.recordFailure();
    expect(breaker.toJSON()).toEqual({ state: 'open', consecutiveFailures: 2, openedAt: T + 500 });
    clock.increment(10_000);
    expect(breaker.toJSON()).toEqual({
      state: 'half_open',
      consecutiveFailures: 2,
      openedAt: T + 500,
    });
    breaker.recordSuccess();
    expect(breaker.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 0 });
    expect(JSON.parse(JSON.stringify(breaker))).toEqual(breaker.toJSON());
    breaker.dispose();
  });
});

describe('initialState', () => {
  /** A breaker that opened at T, as its toJSON() said before the restart. */
  const openedAtT: BreakerSnapshot = { state: 'open', consecutiveFailures: 2, openedAt: T };

  it('resumes open for what is left of the interval, on its own clock', () => {
    vi.setSystemTime(T + 3_000);
    const { breaker, clock } = breakerWith({ initialState: openedAtT });
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    clock.increment(7_000 - 1);
    expect(breaker.state).toBe('open');
    clock.increment(1);
    expect(breaker.state).toBe('half_open');
    // The next open period is a whole interval again.
    breaker.recordFailure();
    clock.increment(10_000 - 1);
    expect(breaker.state).toBe('open');
    clock.increment(1);
    expect(breaker.state).toBe('half_open');
    breaker.dispose();
  });

  it('resumes half_open, ready for its probe, when the interval is over', () => {
    vi.setSystemTime(T + 60_000);
    const { breaker } = breakerWith({ initialState: openedAtT });
    expect(breaker.state).toBe('half_open');
    expect(breaker.allow()).toBe(true); // the probe permit
    expect(breaker.allow()).toBe(false);
    breaker.dispose();
  });

  it('clamps a wall clock that went back: open for one interval, no longer', () => {
    vi.setSystemTime(T - 86_400_000);
    const { breaker, clock } = breakerWith({ initialState: openedAtT });
    clock.increment(10_000 - 1);
    expect(breaker.state).toBe('open');
    clock.increment(1);
    expect(breaker.state).toBe('half_open');
    breaker.dispose();
  });

  it('resumes a closed streak: one more failure opens a threshold-2 breaker', () => {
    const { breaker } = breakerWith({ initialState: { state: 'closed', consecutiveFailures: 1 } });
    expect(breaker.consecutiveFailures).toBe(1);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    breaker.dispose();
  });

  it('a resumed breaker tells no stateChange (it did not just open), and logs that it resumed', () => {
    const { logger, lines } = recordingLogger();
    const heard: unknown[] = [];
    vi.setSystemTime(T + 3_000);
    const { breaker } = breakerWith({ initialState: openedAtT, logger });
    breaker.on('stateChange', (change) => heard.push(change));
    expect(heard).toEqual([]);
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'info circuit breaker: resumed open',
    ]);
    expect(breaker.toJSON()).toEqual(openedAtT); // openedAt is the original one, not the restart's
    breaker.dispose();
  });

  it.each([
    [null, TypeError, 'initialState must be an object such as breaker.toJSON() gives'],
    [
      { state: 'open', consecutiveFailures: 0, openedAt: T, since: T },
      TypeError,
      'initialState has unknown field(s) since; known: state, consecutiveFailures, openedAt',
    ],
    [
      { state: 'ajar', consecutiveFailures: 0 },
      TypeError,
      'initialState.state must be one of closed, open, half_open',
    ],
    [
      { state: 'closed', consecutiveFailures: -1 },
      RangeError,
      'initialState.consecutiveFailures must be a whole number ≥ 0',
    ],
    [{ state: 'closed' }, RangeError, 'initialState.consecutiveFailures'],
    [
      { state: 'open', consecutiveFailures: 3 },
      TypeError,
      'initialState.openedAt must be wall-clock milliseconds',
    ],
    [
      { state: 'open', consecutiveFailures: 3, openedAt: '2026-01-01' },
      TypeError,
      'initialState.openedAt',
    ],
  ])('refuses %j', (initialState, type, message) => {
    expect(() => new CircuitBreaker({ initialState: initialState as never })).toThrow(type);
    expect(() => new CircuitBreaker({ initialState: initialState as never })).toThrow(
      `CircuitBreaker: ${message}`,
    );
  });
});
