import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { sharedStoreMachine } from '../../machines/sharedStore.machine.js';

function started(unavailableMs: number) {
  const clock = new SimulatedClock();
  let failed = 0;
  const machine = sharedStoreMachine.provide({ actions: { failWaiting: () => failed++ } });
  const actor = createActor(machine, { input: { unavailableMs }, clock }).start();
  return { actor, clock, failures: () => failed };
}

describe('the shared store machine', () => {
  it('fails what waits once the store stays unreachable for unavailableMs, and recovers on an answer', () => {
    const { actor, clock, failures } = started(1_000);
    actor.send({ type: 'STORE_ANSWERED' });
    actor.send({ type: 'STORE_UNREACHABLE' });
    clock.increment(999);
    expect(actor.getSnapshot().value).toBe('unreachable');
    expect(failures()).toBe(0);
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe('refusing');
    expect(failures()).toBe(1);
    actor.send({ type: 'STORE_ANSWERED' });
    expect(actor.getSnapshot().value).toBe('available');
  });

  it('restarts the wait when the store answers in between, and counts a slow first connection', () => {
    const { actor, clock, failures } = started(1_000);
    clock.increment(1_000);
    expect(actor.getSnapshot().value).toBe('refusing');
    actor.send({ type: 'STORE_ANSWERED' });
    actor.send({ type: 'STORE_UNREACHABLE' });
    clock.increment(600);
    actor.send({ type: 'STORE_ANSWERED' });
    actor.send({ type: 'STORE_UNREACHABLE' });
    clock.increment(600);
    expect(actor.getSnapshot().value).toBe('unreachable');
    expect(failures()).toBe(1);
    actor.send({ type: 'CLOSE' });
    expect(actor.getSnapshot().status).toBe('done');
  });
});
