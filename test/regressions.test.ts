/**
 * Regression tests for the bugs the reliability suite found, each first pinned
 * with `it.fails` against the unfixed code, then fixed.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { CircuitBreaker, LatencyTracker, memoryBacklog, SyncWorker } from '../src/index.js';
import { advance, durableWorker } from './support/durable.js';
import { recordingTask, settled } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

describe('fixed bugs found by the reliability suite', () => {
  /*
   * WAS BUG 1: a logger that throws wedges the worker. Every error the worker
   * swallows (a throwing onFailure/onSuccess, listener or countsAsFailure) is
   * passed to `logger.error` inside the catch block, unguarded
   * (SyncWorker.callFailure / succeed / reportFailure, and the Emitter's
   * onListenerError set up in the SyncWorker constructor). When `logger.error`
   * itself throws, the exception escapes: from a timeout, it leaves the clock's
   * timer callback (with real timers: an uncaught exception), and `timeOut`
   * never reaches `afterOutcome()`, so `inOutcome` stays true and the pump never
   * runs again. The worker stays 'draining' with its queue stuck until the
   * shutdown deadline. The same holds for a logger whose `error` is not a
   * function (`loggerOption` checks only that the logger is an object).
   */
  it('a logger whose error() throws does not wedge the worker', async () => {
    const { worker, clock } = simulatedWorker({
      latencyTracker: { defaultMs: 100 },
      logger: {
        error: () => {
          throw new Error('log transport down');
        },
      },
    });
    worker.enqueue({
      name: 'hang',
      run: () => new Promise(() => {}),
      onFailure: () => {
        throw new Error('callback bug');
      },
    });
    const next = recordingTask(() => 'next', 'next');
    worker.enqueue(next.task);
    await settled();
    expect(() => clock.increment(100)).not.toThrow(); // it threw 'log transport down'
    await settled();
    expect(next.fates).toEqual([{ kind: 'success', value: 'next' }]); // it never ran
  });

  it('a logger whose members are not functions is refused at construction', () => {
    // It was accepted, and the first swallowed error threw "is not a function".
    expect(() => new SyncWorker({ logger: { error: 'stderr' } as never })).toThrow(TypeError);
  });

  /*
   * WAS BUG 2: `inspect` is not validated. README: "Invalid options throw a
   * TypeError (wrong type) or RangeError (wrong value) whose message names the
   * option." `inspect: 5` reaches XState's createActor, which throws
   * "TypeError: (intermediate value)…?.bind is not a function", naming nothing.
   * (SyncWorker, CircuitBreaker and LatencyTracker pass `inspect` through unchecked.)
   */
  it.each([
    ['SyncWorker', () => new SyncWorker({ inspect: 5 as never, clock: new SimulatedClock() })],
    ['CircuitBreaker', () => new CircuitBreaker({ inspect: 'console' as never })],
    ['LatencyTracker', () => new LatencyTracker({ inspect: true as never })],
  ])(
    '%s: an inspect that is not a function or observer → a TypeError naming inspect',
    (_, build) => {
      expect(build).toThrow(/inspect/);
    },
  );

  /*
   * WAS BUG 3: `window` has no upper bound. LatencyTracker allocates two
   * Float64Arrays of `window` entries, so `window: 1e8` silently takes 1.6 GB
   * and a larger one throws a RangeError ("Invalid typed array length: …" or
   * "Array buffer allocation failed") that does not name the option
   * (positiveInteger in latencySettings has no maximum).
   */
  it('LatencyTracker: a window too large to allocate → a RangeError naming window', () => {
    expect(() => new LatencyTracker({ window: Number.MAX_SAFE_INTEGER })).toThrow(/window/);
  });

  /*
   * WAS BUG 4 (minor): CircuitBreaker.allow(probeTimeoutMs) validates its argument
   * only when it hands out the half-open permit. In closed or open it accepts
   * NaN, -5 or '5' silently, so a caller's bad value passes every test run
   * while the breaker is closed and throws only in production, when the
   * breaker first half-opens.
   */
  it('allow() refuses an invalid probeTimeoutMs in any state', () => {
    const breaker = new CircuitBreaker({ clock: new SimulatedClock() });
    expect(() => breaker.allow(-5)).toThrow(RangeError); // it returned true
  });
});

describe('fixed in the final review', () => {
  it('an invalid option refused after the backlog could open leaves the store unowned', () => {
    const backlog = memoryBacklog();
    const handlers = { write: () => {} };
    expect(() => new SyncWorker({ backlog, handlers, inspect: 5 as never })).toThrow(/inspect/);
    // The store was never opened, so its next owner is not refused as a second one.
    expect(() => new SyncWorker({ backlog, handlers })).not.toThrow();
  });
});

describe('fixed bugs found by the concurrency model tests', () => {
  /*
   * WAS: a worker with free slots did not look for the next task when the
   * breaker moved on by itself or from outside (half-open after the probe
   * interval, closed by another caller's recordSuccess(), reset()), as long as
   * one of its runs was in flight: the drain loop looked again only when a run
   * ended. With `concurrency` 1 a run in flight leaves no free slot, so only
   * `concurrency` > 1 showed it. Found by the closure model (fc seed 20261124):
   * [maxQueue 1, threshold 1, concurrency 3, enqueue(controlled, key a),
   * advance(330 ms), advance(1180 ms), overflow(2 × controlled, keys a/b),
   * report(success)]: task b waited behind the probe of key a after the
   * breaker had closed.
   */
  it('a breaker closed from outside while the probe runs lets the other keys start at once', async () => {
    const { worker, clock } = simulatedWorker({
      concurrency: 2,
      breaker: { failureThreshold: 1, probeIntervalMs: 100 },
      latencyTracker: false,
    });
    const started: string[] = [];
    const hold = (name: string, key: string) => ({
      name,
      key,
      run: () => {
        started.push(name);
        return new Promise(() => {});
      },
    });
    worker.breaker?.recordFailure(); // open
    clock.increment(100); // half-open
    worker.enqueue(hold('probe', 'a'));
    worker.enqueue(hold('other', 'b'));
    await settled();
    expect(started).toEqual(['probe']); // key b waits for the probe's outcome
    worker.breaker?.recordSuccess(); // another caller's success closes the breaker
    await settled();
    expect(started).toEqual(['probe', 'other']);
  });

  /*
   * WAS: the task an idle worker sets apart to run next did not count as its
   * key's turn. A later task of the same key, enqueued in the same burst, put
   * the key in the rotation at once, ahead of keys enqueued after it, so the
   * key ran twice in a row while another key waited. Found by the closure
   * model's round-robin check (fc seed 20261124): [maxQueue 2, threshold 1,
   * concurrency 1, overflow(3 × controlled, keys a), enqueue(controlled),
   * complete]: the second task of key a started before the keyless one.
   */
  it("the task set apart to run next is its key's turn: the key goes to the back of the rotation", async () => {
    const { worker } = simulatedWorker({ breaker: false, latencyTracker: false });
    const started: string[] = [];
    const ends: (() => void)[] = [];
    const task = (name: string, key?: string) => ({
      name,
      ...(key === undefined ? {} : { key }),
      run: () => {
        started.push(name);
        return new Promise<void>((resolve) => ends.push(resolve));
      },
    });
    worker.enqueue(task('a0', 'a')); // set apart: the worker is idle
    worker.enqueue(task('a1', 'a'));
    worker.enqueue(task('n2'));
    await settled();
    ends.shift()?.(); // a0 done: key a had its turn
    await settled();
    expect(started).toEqual(['a0', 'n2']);
  });

  it('a durable key kept while the breaker was open probes when it turns half-open, beside a run in flight', async () => {
    const { worker, clock, remote } = durableWorker({
      concurrency: 2,
      breaker: { failureThreshold: 1, probeIntervalMs: 100 },
      latencyTracker: false,
    });
    remote.answer(() => new Promise(() => {})); // every call hangs
    worker.enqueue({ handler: 'write', payload: 'a0', key: 'a' });
    await settled();
    await settled();
    expect(remote.calls.map((c) => c.payload)).toEqual(['a0']);
    worker.breaker?.recordFailure(); // open, with a0 in flight
    worker.enqueue({ handler: 'write', payload: 'b0', key: 'b' }); // kept
    await settled();
    await settled();
    expect(remote.calls.map((c) => c.payload)).toEqual(['a0']); // committed, kept behind the breaker
    await advance(clock, 100); // half-open: b0 is the probe
    expect(remote.calls.map((c) => c.payload)).toEqual(['a0', 'b0']);
  });
});
