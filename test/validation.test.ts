import { describe, expect, it } from 'vitest';
import { CircuitBreaker, LatencyTracker, SyncWorker } from '../src/index.js';

type Case = [option: string, value: unknown, error: typeof TypeError | typeof RangeError];

const TOO_LONG = 2 ** 31; // a larger setTimeout fires after about 1 ms

/** Values invalid for a positive-integer option. */
const positiveIntegerCases = (option: string): Case[] => [
  [option, '3', TypeError],
  [option, Number.NaN, RangeError],
  [option, 0, RangeError],
  [option, -1, RangeError],
  [option, 1.5, RangeError],
  [option, Number.POSITIVE_INFINITY, RangeError],
];

/** Values invalid for a delay option; `zeroAllowed` says whether 0 is fine. */
const delayCases = (option: string, zeroAllowed: boolean): Case[] => [
  [option, '100', TypeError],
  [option, Number.NaN, RangeError],
  [option, -1, RangeError],
  [option, Number.POSITIVE_INFINITY, RangeError],
  [option, TOO_LONG, RangeError],
  ...(zeroAllowed ? [] : ([[option, 0, RangeError]] as Case[])),
];

function expectRejected(build: () => unknown, option: string, error: Case[2]) {
  let thrown: unknown;
  try {
    build();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `no error for ${option}`).toBeInstanceOf(error);
  expect((thrown as Error).message).toContain(option);
}

describe('option validation', () => {
  describe('LatencyTracker', () => {
    it.each<Case>([
      ...positiveIntegerCases('window'),
      ...positiveIntegerCases('warmupSamples'),
      ...delayCases('defaultMs', false),
      ...delayCases('floorMs', true),
      ...delayCases('ceilingMs', false),
      ['headroom', 0, RangeError],
      ['headroom', -2, RangeError],
      ['headroom', Number.NaN, RangeError],
      ['headroom', Number.POSITIVE_INFINITY, RangeError],
      ['headroom', '3', TypeError],
    ])('rejects %s = %s', (option, value, error) => {
      expectRejected(() => new LatencyTracker({ [option]: value }), option, error);
    });

    it('rejects warmupSamples > window and floorMs > ceilingMs', () => {
      expectRejected(
        () => new LatencyTracker({ window: 4, warmupSamples: 5 }),
        'warmupSamples',
        RangeError,
      );
      // An explicit value is refused, not lowered: only the default follows the window.
      expect(() => new LatencyTracker({ window: 3, warmupSamples: 5 })).toThrow(
        'LatencyTracker: warmupSamples (5) must be ≤ window (3)',
      );
      expectRejected(
        () => new LatencyTracker({ floorMs: 10, ceilingMs: 5 }),
        'floorMs',
        RangeError,
      );
    });

    it('rejects options that are not an object', () => {
      expectRejected(() => new LatencyTracker(5 as never), 'options', TypeError);
    });
  });

  describe('CircuitBreaker', () => {
    it.each<Case>([
      ...positiveIntegerCases('failureThreshold'),
      ...delayCases('probeIntervalMs', true),
      ...delayCases('probeTimeoutMs', false),
      ['clock', {}, TypeError],
      ['clock', { now: () => 0 }, TypeError],
      ['logger', 'console', TypeError],
    ])('rejects %s = %s', (option, value, error) => {
      expectRejected(() => new CircuitBreaker({ [option]: value }), option, error);
    });

    it('rejects a bad permit timeout in allow()', () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 0 });
      breaker.recordFailure();
      return new Promise<void>((resolve) => {
        breaker.on('stateChange', ({ to }) => {
          if (to !== 'half_open') return;
          expectRejected(() => breaker.allow(-5), 'probeTimeoutMs', RangeError);
          breaker.dispose();
          resolve();
        });
      });
    });
  });

  describe('SyncWorker', () => {
    it.each<Case>([
      ['maxQueue', 0, RangeError],
      ['maxQueue', -1, RangeError],
      ['maxQueue', 2.5, RangeError],
      ['maxQueue', Number.NaN, RangeError],
      ['maxQueue', Number.NEGATIVE_INFINITY, RangeError],
      ['maxQueue', '64', TypeError],
      ['name', '', TypeError],
      ['name', 42, TypeError],
      ['clock', { now: () => 0, setTimeout: () => 0 }, TypeError],
      ['countsAsFailure', true, TypeError],
      ['logger', 1, TypeError],
      ['trace', 'yes', TypeError],
      ['failureThreshold', 0, RangeError],
      ['window', 0, RangeError],
    ])('rejects %s = %s', (option, value, error) => {
      const options =
        option === 'failureThreshold'
          ? { breaker: { failureThreshold: value } }
          : option === 'window'
            ? { latencyTracker: { window: value } }
            : { [option]: value };
      expectRejected(() => new SyncWorker(options as never), option, error);
    });

    it('accepts maxQueue = Infinity and floorMs = 0', () => {
      expect(() => new SyncWorker({ maxQueue: Number.POSITIVE_INFINITY })).not.toThrow();
      expect(() => new LatencyTracker({ floorMs: 0 })).not.toThrow();
    });
  });
});
