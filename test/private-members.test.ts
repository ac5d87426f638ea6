/**
 * The public classes show JavaScript users only their documented members:
 * their own state and helpers are `#private` (or, for what the worker needs
 * of a breaker, a function beside the class; for the memory store, a
 * closure, so that wrapping it still works), so nothing invites a call that
 * would corrupt them.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { CircuitBreaker, LatencyTracker, memoryBacklog, SyncWorker } from '../src/index.js';

/** Every property name reachable on `value`, own or inherited, up to `Object.prototype`. */
function reachable(value: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = value; o !== null && o !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(o)) names.add(name);
    o = Object.getPrototypeOf(o);
  }
  names.delete('constructor');
  return [...names].sort();
}

const WORKER = [
  'actor',
  'breaker',
  'dropped',
  'enqueue',
  'flush',
  'health',
  'isRunning',
  'latencyTracker',
  'name',
  'on',
  'onIdle',
  'requeueDeadLetters',
  'shutdown',
  'size',
  'state',
  'stats',
];
const BREAKER = [
  'actor',
  'allow',
  'consecutiveFailures',
  'dispose',
  'execute',
  'isOpen',
  'on',
  'recordFailure',
  'recordSuccess',
  'reset',
  'state',
  'toJSON',
];
const TRACKER = ['actor', 'dispose', 'isWarm', 'observe', 'p95', 'reset', 'sampleCount', 'timeout'];
const STORE = [
  'append',
  'bury',
  'close',
  'deadLetters',
  'firstSeq',
  'flush',
  'keyAfter',
  'list',
  'location',
  'open',
  'purge',
  'read',
  'remove',
  'requeueDead',
  'saveBreaker',
  'stats',
  'update',
];

describe('only documented members are reachable at runtime', () => {
  it('on a worker, its own breaker and its own tracker', async () => {
    const worker = new SyncWorker({ clock: new SimulatedClock() });
    expect(reachable(worker)).toEqual(WORKER);
    expect(reachable(worker.breaker as CircuitBreaker)).toEqual(BREAKER);
    expect(reachable(worker.latencyTracker as LatencyTracker)).toEqual(TRACKER);
    await worker.shutdown();
  });

  it('on a standalone breaker and tracker, used', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new SimulatedClock() });
    breaker.recordFailure();
    const tracker = new LatencyTracker({ window: 2, warmupSamples: 1 });
    tracker.observe(5);
    tracker.observe(7);
    expect(reachable(breaker)).toEqual(BREAKER);
    expect(reachable(tracker)).toEqual(TRACKER);
    breaker.dispose();
    tracker.dispose();
  });

  it('on a memory backlog: the BacklogStore interface', () => {
    expect(reachable(memoryBacklog())).toEqual(STORE);
  });
});
