import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHistory, type HistoryEvent, logEvent, readHistory } from './history.js';

const enqueue = (producer: string, n: number, key: string, seq?: number): HistoryEvent => ({
  type: 'enqueue',
  producer,
  n,
  key,
  id: `${producer}-${n}`,
  ...(seq === undefined ? {} : { seq }),
});
const deliver = (worker: string, producer: string, n: number, key: string): HistoryEvent => ({
  type: 'deliver',
  worker,
  key,
  id: `${producer}-${n}`,
  producer,
  n,
});
const flushed = (producer: string, ...ns: number[]): HistoryEvent => ({
  type: 'flushed',
  producer,
  ids: ns.map((n) => `${producer}-${n}`),
});

/** Two producers on key k (seqs interleaved by the store), one on key j; every task delivered once, in order. */
const good: HistoryEvent[] = [
  enqueue('p1', 0, 'k', 1),
  enqueue('p2', 0, 'k', 2),
  enqueue('p1', 1, 'k', 3),
  enqueue('p3', 0, 'j'),
  enqueue('p3', 1, 'j'),
  flushed('p1', 0, 1),
  flushed('p2', 0),
  flushed('p3', 0, 1),
  deliver('w1', 'p1', 0, 'k'),
  deliver('w2', 'p3', 0, 'j'),
  deliver('w2', 'p2', 0, 'k'),
  deliver('w1', 'p3', 1, 'j'),
  deliver('w1', 'p1', 1, 'k'),
];

const kinds = (events: readonly HistoryEvent[]) => checkHistory(events).map((v) => v.kind);
const without = (index: number) => good.filter((_, i) => i !== index);
const swap = (events: HistoryEvent[], a: number, b: number): HistoryEvent[] => {
  const copy = [...events];
  [copy[a], copy[b]] = [copy[b] as HistoryEvent, copy[a] as HistoryEvent];
  return copy;
};

describe('the fleet history checker', () => {
  it('finds nothing wrong in a good history', () => {
    expect(checkHistory(good)).toEqual([]);
  });

  it('finds a flushed task that was never delivered', () => {
    const violations = checkHistory(without(12));
    expect(violations.map((v) => v.kind)).toEqual(['lost']);
    expect(violations[0]?.message).toContain('p1-1');
  });

  it('does not require a task that was accepted but never flushed', () => {
    const unflushed = [...good, enqueue('p2', 1, 'k', 4)];
    expect(checkHistory(unflushed)).toEqual([]);
  });

  it('finds a delivery of an id no producer enqueued', () => {
    expect(kinds([...good, deliver('w1', 'p9', 0, 'k')])).toContain('unknown-id');
  });

  it("finds first deliveries of a key out of the store's seq order", () => {
    // p2-0 (seq 2) before p1-0 (seq 1): different producers, so only the seq shows it.
    expect(kinds(swap(good, 8, 10))).toEqual(['seq-order']);
  });

  it("finds first deliveries out of a producer's own order where no seq is known", () => {
    // p3's tasks on j carry no seq: its own numbering must still hold.
    expect(kinds(swap(good, 9, 11))).toEqual(['producer-order']);
  });

  it('finds a duplicate that no fault explains', () => {
    const repeated = [...good, deliver('w2', 'p1', 1, 'k')];
    expect(kinds(repeated)).toEqual(['duplicate']);
  });

  it('allows a duplicate after its first deliverer was killed, paused or lost its lease', () => {
    for (const kind of ['kill', 'pause', 'lease-lost'] as const) {
      const repeated = [
        ...good,
        { type: 'fault', kind, worker: 'w1' } as const,
        deliver('w2', 'p1', 1, 'k'),
      ];
      expect(checkHistory(repeated)).toEqual([]);
    }
  });

  it('allows a paused worker to deliver late what another worker delivered meanwhile', () => {
    const late = [...good.slice(0, 12), { type: 'fault', kind: 'pause', worker: 'w3' } as const];
    late.push(deliver('w2', 'p1', 1, 'k'), deliver('w3', 'p1', 1, 'k'));
    expect(checkHistory(late)).toEqual([]);
  });

  it('allows a paused worker that woke up late to deliver first what another then delivered', () => {
    const late = [...good.slice(0, 12), { type: 'fault', kind: 'pause', worker: 'w3' } as const];
    late.push(deliver('w3', 'p1', 1, 'k'), deliver('w2', 'p1', 1, 'k'));
    expect(checkHistory(late)).toEqual([]);
  });

  it('allows a duplicate after a server restart', () => {
    const repeated = [
      ...good,
      { type: 'fault', kind: 'restart' } as const,
      deliver('w2', 'p1', 0, 'k'),
    ];
    expect(checkHistory(repeated)).toEqual([]);
  });

  it('does not let a restart explain a duplicate first delivered after the server was back', () => {
    const restart = { type: 'fault', kind: 'restart' } as const;
    const restarted = { type: 'fault', kind: 'restarted' } as const;
    const late = [...good.slice(0, 8), restart, restarted, ...good.slice(8)];
    expect(kinds([...late, deliver('w2', 'p1', 1, 'k')])).toEqual(['duplicate']);
    // Delivered while the server was still restarting: its outcome may have been lost.
    const during = [...good.slice(0, 8), restart, ...good.slice(8), restarted];
    expect(kinds([...during, deliver('w2', 'p1', 1, 'k')])).toEqual([]);
  });

  it("does not let another worker's fault, or a fault after the repeat, explain a duplicate", () => {
    const unrelated = [...good, { type: 'fault', kind: 'kill', worker: 'w9' } as const];
    expect(kinds([...unrelated, deliver('w2', 'p1', 1, 'k')])).toEqual(['duplicate']);
    const tooLate = [
      ...good,
      deliver('w2', 'p1', 1, 'k'),
      { type: 'fault', kind: 'kill', worker: 'w1' } as const,
    ];
    expect(kinds(tooLate)).toEqual(['duplicate']);
  });

  it('finds one task delivered under two ids', () => {
    const twice = [
      ...good,
      enqueue('p1', 99, 'k', 9),
      { ...(deliver('w1', 'p1', 1, 'k') as object), id: 'p1-99' } as HistoryEvent,
    ];
    expect(kinds(twice)).toEqual(['same-task-two-ids']);
  });

  it('reads back what was logged, ignoring a torn last line', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'history-')), 'log.jsonl');
    writeFileSync(file, '');
    for (const event of good) logEvent(file, event);
    writeFileSync(
      file,
      `${readHistory(file)
        .map((e) => JSON.stringify(e))
        .join('\n')}\n{"type":"deli`,
    );
    expect(readHistory(file)).toEqual(good);
  });
});
