/**
 * The oldest of the restored keys still waiting (the probe's pick, and the
 * backlog's age for health and gauges) answered from heads read once, held
 * to the scan over every waiting key it replaced: random stores left by an
 * earlier life, then random walk steps, probes, this life's appends and
 * deliveries from lanes, with both answers compared after each question.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BacklogRecord, BacklogStore } from '../../src/backlog/types.js';
import { earlier, RestoredKeys } from '../../src/durable/RestoredKeys.js';
import { memoryBacklog } from '../../src/index.js';

const hooks = { onCorrupt() {}, onWriteError() {} };
const RUNS = Number(process.env.FC_RUNS ?? 200);
const SEED = Number(process.env.FC_SEED ?? 20_261_202);

function record(seq: number, key: string, enqueuedAt: number): BacklogRecord {
  return { seq, id: `id-${seq}`, key, handler: 'write', payload: seq, attempts: 0, enqueuedAt };
}

/** What the old scan answered: every waiting key's head read now. */
function scanned(restored: RestoredKeys, store: BacklogStore, skip: (key: string) => boolean) {
  let oldest: { key: string; seq: number } | undefined;
  let at: number | undefined;
  for (let key = store.keyAfter(undefined); key !== undefined; key = store.keyAfter(key)) {
    if (skip(key) || !restored.waits(key)) continue;
    const seq = store.firstSeq(key) as number;
    if (oldest === undefined || seq < oldest.seq) oldest = { key, seq };
    at = earlier(at, store.read(key, 0, 1)[0]);
  }
  return { oldest, at };
}

type Step =
  | { kind: 'walk' }
  | { kind: 'probe' }
  | { kind: 'ask' }
  | { kind: 'append'; key: number; enqueuedAt: number }
  | { kind: 'deliver' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: 'walk' as const }),
  fc.constant({ kind: 'probe' as const }),
  fc.constant({ kind: 'ask' as const }),
  fc.constant({ kind: 'deliver' as const }),
  fc.record({
    kind: fc.constant('append' as const),
    key: fc.integer({ min: 0, max: 14 }),
    enqueuedAt: fc.integer({ min: 0, max: 1_000 }),
  }),
);

/** Records left behind: keys k0…k11, enqueue times unrelated to seq order. */
const leftBehind = fc.array(
  fc.record({
    key: fc.integer({ min: 0, max: 11 }),
    enqueuedAt: fc.integer({ min: 0, max: 1_000 }),
  }),
  { minLength: 1, maxLength: 40 },
);

describe('RestoredKeys: the oldest waiting key and enqueue time, from heads read once', () => {
  it(`answer as the scan over every waiting key does (${RUNS} runs, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(leftBehind, fc.array(step, { maxLength: 40 }), async (kept, steps) => {
        const store = memoryBacklog();
        store.open(hooks);
        await store.append(kept.map((r, i) => record(i + 1, `k${r.key}`, r.enqueuedAt)));
        let nextSeq = kept.length + 1;
        const restored = new RestoredKeys(store, nextSeq, kept.length);
        // Keys with a lane: the walk's and the probe's picks, as the rotation gives them one.
        const laned = new Set<string>();
        const skip = (key: string) => laned.has(key);
        for (const s of steps) {
          if (s.kind === 'walk') {
            const key = restored.next(skip);
            if (key !== undefined) laned.add(key);
          } else if (s.kind === 'probe') {
            const oldest = restored.oldest(skip);
            expect(oldest).toEqual(scanned(restored, store, skip).oldest);
            if (oldest !== undefined) {
              restored.takeOutOfTurn(oldest.key);
              laned.add(oldest.key);
            }
          } else if (s.kind === 'ask') {
            const expected = scanned(restored, store, skip);
            expect(restored.oldest(skip)).toEqual(expected.oldest);
            expect(restored.oldestEnqueuedAt(skip)).toBe(expected.at);
          } else if (s.kind === 'append') {
            // This life's task: it follows a waiting key's records in the store.
            await store.append([record(nextSeq++, `k${s.key}`, s.enqueuedAt)]);
          } else {
            // A lane delivers its key's head, and is forgotten once its key holds nothing.
            const key = [...laned][0];
            if (key === undefined) continue;
            const head = store.read(key, 0, 1)[0];
            if (head !== undefined) store.remove(head);
            if (store.firstSeq(key) === undefined) laned.delete(key);
          }
        }
        const expected = scanned(restored, store, skip);
        expect(restored.oldest(skip)).toEqual(expected.oldest);
        expect(restored.oldestEnqueuedAt(skip)).toBe(expected.at);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('reads the store once, at the first question, however many follow', async () => {
    const store = memoryBacklog();
    store.open(hooks);
    await store.append(Array.from({ length: 50 }, (_, i) => record(i + 1, `k${i % 10}`, 100 - i)));
    let reads = 0;
    const counted: BacklogStore = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'read' && name !== 'firstSeq') return value;
        return (...args: unknown[]) => {
          reads++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const restored = new RestoredKeys(counted, 51, 50);
    const none = () => false;
    expect(restored.oldestEnqueuedAt(none)).toBe(91); // k9's head, seq 10
    const first = reads;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 100; i++) restored.oldestEnqueuedAt(none);
    expect(restored.oldest(none)).toEqual({ key: 'k0', seq: 1 });
    expect(reads).toBe(first);
  });
});
