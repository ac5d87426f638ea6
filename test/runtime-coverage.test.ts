import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { breakerMachine } from '../machines/breaker.machine.js';
import { latencyMachine } from '../machines/projections/latency.machine.js';
import { TransitionRecorder } from './support/runtime-coverage.js';
import { definedTransitions } from './support/transition-coverage.js';

const input = { failureThreshold: 1, probeIntervalMs: 1000, probeTimeoutMs: 500 };
const idOf = (prefix: string) => {
  const found = [...definedTransitions(breakerMachine), ...definedTransitions(latencyMachine)]
    .map(({ id }) => id)
    .find((id) => id.startsWith(prefix));
  if (found === undefined) throw new Error(`no transition starts with ${prefix}`);
  return found;
};

describe('TransitionRecorder', () => {
  it('records transitions by machine id, in total and since the last mark', () => {
    const recorder = new TransitionRecorder();
    const clock = new SimulatedClock();
    const breaker = createActor(breakerMachine, { input, clock, inspect: recorder.inspect });
    const tracker = createActor(latencyMachine, { inspect: recorder.inspect });
    breaker.start();
    tracker.start();
    breaker.send({ type: 'FAILURE' });
    recorder.mark();
    clock.increment(1000);
    tracker.send({ type: 'WARMED_UP' });

    const failed = idOf('#breaker.closed --FAILURE[0]');
    const probeDue = idOf('#breaker.open --xstate.after.probeInterval');
    const warmed = idOf('#tracker.warming --WARMED_UP[0]');
    // A fresh breaker leaves its transient `starting` state for `closed` as it starts.
    const started = idOf('#breaker.starting --always[2]');
    expect(recorder.taken('breaker')).toEqual(new Set([started, failed, probeDue]));
    expect(recorder.takenSinceMark('breaker')).toEqual(new Set([probeDue]));
    expect(recorder.taken('tracker')).toEqual(new Set([warmed]));
    expect(recorder.taken('worker')).toEqual(new Set());
    recorder.mark();
    expect(recorder.takenSinceMark('breaker')).toEqual(new Set());
    expect(recorder.taken('breaker').size).toBe(3); // a mark never forgets the totals
    breaker.stop();
    tracker.stop();
  });

  it('hands out copies: what a caller holds does not change under it', () => {
    const recorder = new TransitionRecorder();
    const tracker = createActor(latencyMachine, { inspect: recorder.inspect }).start();
    tracker.send({ type: 'WARMED_UP' });
    const before = recorder.taken('tracker');
    const sinceBefore = recorder.takenSinceMark('tracker');
    tracker.send({ type: 'CEILING_REACHED' });
    expect([before.size, sinceBefore.size]).toEqual([1, 1]);
    expect(recorder.taken('tracker').size).toBe(2);
    tracker.stop();
  });
});
