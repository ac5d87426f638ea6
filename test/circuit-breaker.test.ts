import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  BreakerHalfOpenError,
  BreakerOpenError,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../src/index.js';
import { recordingLogger } from './support/tasks.js';

function breaker(options: CircuitBreakerOptions = {}) {
  const clock = new SimulatedClock();
  const changes: string[] = [];
  const b = new CircuitBreaker({
    failureThreshold: 3,
    probeIntervalMs: 1_000,
    probeTimeoutMs: 500,
    clock,
    ...options,
  });
  b.on('stateChange', ({ from, to }) => changes.push(`${from}→${to}`));
  return { b, clock, changes };
}

function trip(b: CircuitBreaker, times = 3) {
  for (let i = 0; i < times; i++) b.recordFailure();
}

/** Asserts the breaker stays open for exactly `ms`, then turns half-open. */
function expectOpenFor(b: CircuitBreaker, clock: SimulatedClock, ms = 1_000) {
  expect(b.state).toBe('open');
  clock.increment(ms - 1);
  expect(b.state).toBe('open');
  clock.increment(1);
  expect(b.state).toBe('half_open');
}

describe('CircuitBreaker', () => {
  it('opens after failureThreshold consecutive failures', () => {
    const { b, changes } = breaker();
    trip(b, 2);
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(2);
    b.recordFailure();
    expect(b.state).toBe('open');
    expect(b.isOpen).toBe(true);
    expect(b.allow()).toBe(false);
    expect(changes).toEqual(['closed→open']);
  });

  it('a success in closed ends the failure streak', () => {
    const { b } = breaker();
    trip(b, 2);
    b.recordSuccess();
    expect(b.consecutiveFailures).toBe(0);
    trip(b, 2);
    expect(b.state).toBe('closed');
  });

  it('sends no event for a success when closed with no streak (the happy path)', () => {
    const { b } = breaker();
    const before = b.actor.getSnapshot();
    b.recordSuccess();
    expect(b.actor.getSnapshot()).toBe(before);
  });

  it('ignores outcomes while open; only the probe interval leaves open', () => {
    const { b, clock } = breaker();
    trip(b);
    b.recordSuccess();
    b.recordFailure();
    expectOpenFor(b, clock);
  });

  it('hands out exactly one probe permit in half_open', () => {
    const { b, clock } = breaker();
    trip(b);
    clock.increment(1_000);
    expect(b.state).toBe('half_open');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
    expect(b.allow()).toBe(false);
    expect(b.state).toBe('half_open');
  });

  it('reading state does not take the permit', () => {
    const { b, clock } = breaker();
    trip(b);
    clock.increment(1_000);
    for (let i = 0; i < 3; i++) expect([b.state, b.isOpen]).toEqual(['half_open', false]);
    expect(b.allow()).toBe(true);
  });

  it('a good probe closes the breaker', () => {
    const { b, clock, changes } = breaker();
    trip(b);
    clock.increment(1_000);
    b.allow();
    b.recordSuccess();
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(0);
    expect(changes).toEqual(['closed→open', 'open→half_open', 'half_open→closed']);
  });

  it('a bad probe re-opens the breaker and restarts the probe timer', () => {
    const { b, clock } = breaker();
    trip(b);
    clock.increment(1_000);
    b.allow();
    clock.increment(200);
    b.recordFailure();
    expectOpenFor(b, clock);
  });

  // A caller that admits with `!isOpen` and reports by hand never takes the permit;
  // as in the Python reference, its outcome still decides the half-open breaker.
  it('a success reported in half_open closes it, whether or not the permit was taken', () => {
    const { b, clock, changes } = breaker();
    trip(b);
    clock.increment(1_000);
    expect(b.isOpen).toBe(false);
    b.recordSuccess();
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(0);
    expect(changes).toEqual(['closed→open', 'open→half_open', 'half_open→closed']);
  });

  it('a failure reported in half_open reopens it, whether or not the permit was taken', () => {
    const { b, clock, changes } = breaker();
    trip(b);
    clock.increment(1_000);
    b.recordFailure();
    expect(changes).toEqual(['closed→open', 'open→half_open', 'half_open→open']);
    expect(b.consecutiveFailures).toBe(4);
    expectOpenFor(b, clock); // a fresh probe interval
  });

  it('a permit never reported within probeTimeoutMs counts as a failed probe', () => {
    const { b, clock, changes } = breaker();
    trip(b);
    clock.increment(1_000);
    expect(b.allow()).toBe(true);
    clock.increment(499);
    expect(b.state).toBe('half_open');
    clock.increment(1);
    expect(b.state).toBe('open');
    expect(changes.at(-1)).toBe('half_open→open');
    clock.increment(1_000);
    expect(b.allow()).toBe(true); // a fresh permit: the breaker is not stuck
  });

  it('allow(ms) sets how long this permit may go unreported', () => {
    const { b, clock } = breaker();
    trip(b);
    clock.increment(1_000);
    b.allow(50);
    clock.increment(50);
    expect(b.state).toBe('open');
  });

  it.each([
    ['closed with a streak', (b: CircuitBreaker) => trip(b, 2)],
    ['open', (b: CircuitBreaker) => trip(b)],
    [
      'half_open',
      (b: CircuitBreaker, c: SimulatedClock) => {
        trip(b);
        c.increment(1_000);
      },
    ],
    [
      'half_open probing',
      (b: CircuitBreaker, c: SimulatedClock) => {
        trip(b);
        c.increment(1_000);
        b.allow();
      },
    ],
  ])('reset() closes it from %s', (_, reach) => {
    const { b, clock } = breaker();
    reach(b, clock);
    b.reset();
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(0);
    clock.increment(10_000); // no timer left behind re-opens it
    expect(b.state).toBe('closed');
  });

  describe('execute', () => {
    it('runs the function and reports a success', async () => {
      const { b } = breaker();
      trip(b, 2);
      await expect(b.execute(async () => 42)).resolves.toBe(42);
      expect(b.consecutiveFailures).toBe(0);
    });

    it('reports a failure and rethrows it', async () => {
      const { b } = breaker({ failureThreshold: 1 });
      const boom = new Error('boom');
      await expect(b.execute(() => Promise.reject(boom))).rejects.toBe(boom);
      expect(b.state).toBe('open');
    });

    it('rejects with BreakerOpenError without running the function when open', async () => {
      const { b } = breaker();
      trip(b);
      let ran = false;
      const refused = b.execute(async () => {
        ran = true;
      });
      await expect(refused).rejects.toBeInstanceOf(BreakerOpenError);
      await expect(refused).rejects.not.toBeInstanceOf(BreakerHalfOpenError);
      await expect(refused).rejects.toThrow('circuit breaker open');
      expect(ran).toBe(false);
    });

    it('a refusal while the half-open probe is in flight says so', async () => {
      const { b, clock } = breaker();
      trip(b);
      clock.increment(1_000);
      let finish!: (value: string) => void;
      const probe = b.execute(() => new Promise<string>((resolve) => (finish = resolve)));
      let ran = false;
      const refused = b.execute(async () => {
        ran = true;
      });
      const error = await refused.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      // A subclass: code that catches BreakerOpenError keeps working.
      expect(error).toBeInstanceOf(BreakerHalfOpenError);
      expect(error).toBeInstanceOf(BreakerOpenError);
      expect((error as Error).name).toBe('BreakerHalfOpenError');
      expect((error as Error).message).toBe(
        'circuit breaker half-open: its one probe is in flight',
      );
      expect(ran).toBe(false);
      finish('ok');
      await expect(probe).resolves.toBe('ok');
      expect(b.state).toBe('closed');
    });

    it('a call begun before the breaker changed does not move it (Polly)', async () => {
      const { b, clock } = breaker();
      let fail!: (e: Error) => void;
      const slow = b.execute(() => new Promise((_, reject) => (fail = reject)));
      trip(b); // other callers open the breaker meanwhile
      clock.increment(1_000);
      expect(b.allow()).toBe(true); // someone takes the probe permit
      fail(new Error('late'));
      await expect(slow).rejects.toThrow('late');
      expect(b.state).toBe('half_open'); // the late failure did not fail the probe
    });

    it('a call begun before half_open does not decide it, though raw reports would', async () => {
      const { b, clock } = breaker();
      let succeed!: (value: string) => void;
      const slow = b.execute(() => new Promise<string>((resolve) => (succeed = resolve)));
      trip(b);
      clock.increment(1_000);
      succeed('late');
      await expect(slow).resolves.toBe('late');
      expect(b.state).toBe('half_open'); // the late success did not close it
      expect(b.allow()).toBe(true); // and the permit is still there
    });

    it('the probe run through execute closes the breaker', async () => {
      const { b, clock } = breaker();
      trip(b);
      clock.increment(1_000);
      await b.execute(async () => 'ok');
      expect(b.state).toBe('closed');
    });
  });

  it('a throwing stateChange listener is logged and the others still hear', () => {
    const { logger, lines } = recordingLogger();
    const b = new CircuitBreaker({ failureThreshold: 1, logger, clock: new SimulatedClock() });
    const heard: string[] = [];
    b.on('stateChange', () => {
      throw new Error('listener bug');
    });
    b.on('stateChange', ({ to }) => heard.push(to));
    b.recordFailure();
    expect(heard).toEqual(['open']);
    expect(lines.some((l) => l.level === 'error' && l.message.includes('listener threw'))).toBe(
      true,
    );
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('→ open'))).toBe(true);
  });

  it('on() returns an unsubscribe function', () => {
    const { b } = breaker({ failureThreshold: 1 });
    const heard: string[] = [];
    const off = b.on('stateChange', ({ to }) => heard.push(to));
    off();
    b.recordFailure();
    expect(heard).toEqual([]);
  });

  it('dispose() stops its actor and its timers', () => {
    const { b, clock } = breaker();
    trip(b);
    b.dispose();
    expect(b.actor.getSnapshot().status).toBe('stopped');
    clock.increment(5_000);
    expect(b.state).toBe('open');
  });

  it('is inert once stopped: calls are no-ops, not events to a stopped actor', () => {
    const { b } = breaker();
    b.dispose();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      trip(b);
      b.reset();
      expect(warn).not.toHaveBeenCalled();
      expect(b.state).toBe('closed');
    } finally {
      warn.mockRestore();
    }
  });

  it('uses the reference defaults: 3 failures, 60 s probe interval', () => {
    const clock = new SimulatedClock();
    const b = new CircuitBreaker({ clock });
    trip(b, 3);
    expectOpenFor(b, clock, 60_000);
    b.allow();
    clock.increment(30_000); // default probeTimeoutMs
    expect(b.state).toBe('open');
  });
});
