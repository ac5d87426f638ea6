import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SyncTask } from '../../src/index.js';
import { ClosureLanes } from '../../src/worker/closureLanes.js';

type Op =
  | { op: 'push'; key: string | undefined }
  | { op: 'start' }
  | { op: 'finish'; pick: number }
  | { op: 'drop' }
  | { op: 'takeAll' };

const keyArb = fc.constantFrom(undefined, 'a', 'b', 'c', 'd');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.constant({ op: 'start' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('finish' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ op: 'drop' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'takeAll' as const }) },
);

/**
 * The lanes against a plain model: an array of waiting tasks in arrival
 * order and the set of keys in flight. Starting takes the oldest waiting task
 * of some key with nothing in flight; overflow drops the oldest of all.
 */
describe('ClosureLanes against a model', () => {
  it('keeps per-key FIFO, one in flight per key, and drops the oldest waiting task of all keys', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const lanes = new ClosureLanes();
        const waiting: SyncTask[] = [];
        const inFlight: { task: SyncTask; lane: ReturnType<ClosureLanes['front']> }[] = [];
        const keyOf = (task: SyncTask) => task.key ?? '(none)';
        let n = 0;
        for (const o of ops) {
          if (o.op === 'push') {
            const task: SyncTask = { run() {}, name: `t${n++}`, key: o.key };
            lanes.push(task);
            waiting.push(task);
          } else if (o.op === 'start') {
            const busy = new Set(inFlight.map((r) => keyOf(r.task)));
            const startable = waiting.some((t) => !busy.has(keyOf(t)));
            expect(lanes.hasStartable()).toBe(startable);
            if (!startable) continue;
            const lane = lanes.front();
            const task = lanes.take(lane);
            expect(busy.has(keyOf(task))).toBe(false);
            // The oldest waiting task of its key.
            expect(waiting.find((t) => keyOf(t) === keyOf(task))).toBe(task);
            waiting.splice(waiting.indexOf(task), 1);
            inFlight.push({ task, lane });
          } else if (o.op === 'finish') {
            if (inFlight.length === 0) continue;
            const [run] = inFlight.splice(o.pick % inFlight.length, 1);
            lanes.finished((run as (typeof inFlight)[number]).lane);
          } else if (o.op === 'drop') {
            if (waiting.length === 0) continue;
            expect(lanes.dropOldest()).toBe(waiting.shift());
          } else {
            expect(lanes.takeAll()).toEqual(waiting.splice(0));
          }
          expect(lanes.queued).toBe(waiting.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('goes round robin across keys: a key that just ran goes to the back', () => {
    const lanes = new ClosureLanes();
    const order: string[] = [];
    for (const name of ['a1', 'a2', 'a3', 'b1', 'b2', 'c1']) {
      const task: SyncTask = { run() {}, name, key: name[0] };
      lanes.push(task);
    }
    while (lanes.hasStartable()) {
      const lane = lanes.front();
      order.push(lanes.take(lane).name as string);
      lanes.finished(lane);
    }
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });
});
