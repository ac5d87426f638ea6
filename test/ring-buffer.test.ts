import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../src/RingBuffer.js';

type Op = { op: 'push' | 'unshift'; value: number } | { op: 'shift' } | { op: 'takeAll' };

describe('RingBuffer', () => {
  it('behaves as an array under push, unshift, shift and takeAll, across growth and wrap-around', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constantFrom('push' as const, 'unshift' as const), value: fc.integer() }),
      fc.constant({ op: 'shift' as const }),
      fc.constant({ op: 'takeAll' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const ring = new RingBuffer<number>(2);
        const model: number[] = [];
        for (const o of ops) {
          if (o.op === 'push') {
            ring.push(o.value);
            model.push(o.value);
          } else if (o.op === 'unshift') {
            ring.unshift(o.value);
            model.unshift(o.value);
          } else if (o.op === 'shift') {
            expect(ring.shift()).toBe(model.shift());
          } else {
            expect(ring.takeAll()).toEqual(model.splice(0));
          }
          expect(ring.size).toBe(model.length);
          expect(ring.peek()).toBe(model[0]);
        }
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });
});
