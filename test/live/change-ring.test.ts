import { describe, expect, it } from 'vitest';
import { ChangeRing } from '../../src/live/changeRing.js';
import { LiveState, leafStateIds } from '../../src/live/liveState.js';

const change = (to: string) => ({
  t: 0,
  machine: 'breaker',
  from: '',
  to,
  label: to,
  ids: [`breaker.${to}`],
});

describe('ChangeRing', () => {
  it('numbers changes 1, 2, 3 … and keeps only the last `capacity`', () => {
    const ring = new ChangeRing(3);
    expect([ring.firstSeq, ring.lastSeq]).toEqual([1, 0]);
    for (const to of ['a', 'b', 'c', 'd', 'e']) ring.push(change(to));
    expect(ring.all().map((c) => [c.seq, c.to])).toEqual([
      [3, 'c'],
      [4, 'd'],
      [5, 'e'],
    ]);
    expect([ring.firstSeq, ring.lastSeq]).toEqual([3, 5]);
  });

  it('gives a viewer exactly the changes after the last one it saw', () => {
    const ring = new ChangeRing(4);
    for (const to of ['a', 'b', 'c', 'd', 'e', 'f']) ring.push(change(to)); // holds 3..6
    expect(ring.since(6)).toEqual({ changes: [], missed: 0 });
    expect(ring.since(4).changes.map((c) => c.seq)).toEqual([5, 6]);
    // Seen up to 2: 3 is the next, and the ring still holds it.
    expect(ring.since(2)).toMatchObject({ missed: 0 });
    expect(ring.since(2).changes.map((c) => c.seq)).toEqual([3, 4, 5, 6]);
  });

  it('says how many changes a viewer missed when they already left the ring', () => {
    const ring = new ChangeRing(4);
    for (let i = 0; i < 10; i++) ring.push(change(`s${i}`)); // holds 7..10
    const { changes, missed } = ring.since(2);
    expect(missed).toBe(4); // 3, 4, 5 and 6
    expect(changes.map((c) => c.seq)).toEqual([7, 8, 9, 10]);
    expect(ring.since(0)).toMatchObject({ missed: 6 });
  });
});

describe('LiveState', () => {
  it('records a change only when the active leaves or the status change', () => {
    let now = 1_000;
    const state = new LiveState(10, () => now);
    state.seed('breaker', 'closed');
    expect(state.see('breaker', 'closed')).toBeUndefined();
    now = 2_000;
    expect(state.see('breaker', 'open')).toEqual({
      seq: 1,
      t: 2_000,
      machine: 'breaker',
      from: 'closed',
      to: 'open',
      label: 'open',
      ids: ['breaker.open'],
    });
    expect(state.see('breaker', { half_open: 'probing' })).toMatchObject({
      seq: 2,
      from: 'open',
      to: 'half_open.probing',
    });
    expect(state.see('breaker', { half_open: 'probing' }, 'stopped')).toMatchObject({
      seq: 3,
      to: 'half_open.probing (stopped)',
    });
    expect(state.actors()).toEqual([
      {
        machine: 'breaker',
        label: 'half_open.probing (stopped)',
        ids: ['breaker.half_open.probing'],
      },
    ]);
  });

  it('labels parallel regions by their leaves, and a change by the regions that changed', () => {
    const value = { active: { admission: 'open', drain: 'blocked' } };
    expect(leafStateIds('worker', value)).toEqual([
      'worker.active.admission.open',
      'worker.active.drain.blocked',
    ]);
    const state = new LiveState(10);
    state.seed('worker', value);
    expect(state.actors()[0]?.label).toBe('active.admission.open + active.drain.blocked');
    const drained = state.see('worker', { active: { admission: 'open', drain: 'running' } });
    expect(drained).toMatchObject({
      from: 'active.drain.blocked',
      to: 'active.drain.running',
      label: 'active.admission.open + active.drain.running',
    });
    expect(state.see('worker', 'shutdown')).toMatchObject({
      from: 'active.admission.open + active.drain.running',
      to: 'shutdown',
      ids: ['worker.shutdown'],
    });
  });
});
