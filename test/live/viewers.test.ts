import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { MetricSample } from '../../src/live/feed.js';
import { LiveState } from '../../src/live/liveState.js';
import { type SnapshotMessage, type UpdateMessage, ViewerHub } from '../../src/live/viewers.js';

/** A viewer's connection that takes everything at once. */
class Reader extends Writable {
  text = '';
  override _write(chunk: Buffer, _: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }

  /** The server-sent events received so far. */
  events(): { event: string; id: number; data: SnapshotMessage & UpdateMessage }[] {
    return this.text
      .split('\n\n')
      .filter((block) => block.startsWith('event: '))
      .map((block) => {
        const field = (name: string) =>
          block
            .split('\n')
            .find((line) => line.startsWith(`${name}: `))
            ?.slice(name.length + 2) ?? '';
        return { event: field('event'), id: Number(field('id')), data: JSON.parse(field('data')) };
      });
  }
}

/** A viewer's connection that never takes anything: every byte written stays unsent. */
class Stalled extends Writable {
  override _write(): void {}
}

function setUp(capacity = 100, maxBufferedBytes = 1024 * 1024) {
  const clock = new SimulatedClock();
  const state = new LiveState(capacity, () => clock.now());
  state.seed('breaker', 'closed');
  let samples = 0;
  const sample = (): MetricSample => {
    samples++;
    return { t: clock.now(), queued: samples, running: 0, backlog: 0, timeoutMs: 50, p95Ms: null };
  };
  const hub = new ViewerHub(state, sample, {
    maxBufferedBytes,
    intervalMs: 100,
    metricsKept: 5,
    clock,
  });
  return { clock, state, hub, samples: () => samples };
}

/** Flips the breaker `n` times: n state changes. */
function flip(state: LiveState, n: number): void {
  for (let i = 0; i < n; i++) state.see('breaker', i % 2 === 0 ? 'open' : 'closed');
}

describe('the live view’s viewers', () => {
  it('get the full picture at once when they connect', () => {
    const { state, hub } = setUp();
    flip(state, 2);
    const reader = new Reader();
    hub.add(reader);
    const [snapshot] = reader.events();
    expect(snapshot?.event).toBe('snapshot');
    expect(snapshot?.id).toBe(2);
    expect(snapshot?.data).toMatchObject({ reason: 'connect', missed: 0 });
    expect(snapshot?.data.actors).toEqual([
      { machine: 'breaker', label: 'closed', ids: ['breaker.closed'] },
    ]);
    expect(snapshot?.data.changes.map((c) => c.seq)).toEqual([1, 2]);
  });

  it('coalesce the changes between two sends into one message, at most every 100 ms', () => {
    const { clock, state, hub, samples } = setUp();
    const reader = new Reader();
    hub.add(reader);
    flip(state, 3);
    clock.increment(99);
    expect(reader.events()).toHaveLength(1); // only the snapshot: nothing sent within 100 ms
    clock.increment(1);
    const events = reader.events();
    expect(events).toHaveLength(2);
    expect(events[1]?.event).toBe('update');
    expect(events[1]?.id).toBe(3);
    expect(events[1]?.data.changes.map((c) => [c.seq, c.to])).toEqual([
      [1, 'open'],
      [2, 'closed'],
      [3, 'open'],
    ]);
    clock.increment(100);
    expect(reader.events()[2]?.data).toMatchObject({ changes: [], metric: { queued: 2 } });
    expect(samples()).toBe(2);
  });

  it('sample the numbers once per send, however many viewers there are', () => {
    const { clock, hub, samples } = setUp();
    const readers = [new Reader(), new Reader(), new Reader()];
    for (const reader of readers) hub.add(reader);
    for (let send = 0; send < 3; send++) clock.increment(100);
    expect(samples()).toBe(3);
    for (const reader of readers) expect(reader.events()).toHaveLength(4);
  });

  it('stop the send timer when the last viewer leaves', () => {
    const { clock, hub, samples } = setUp();
    const leave = hub.add(new Reader());
    clock.increment(100);
    leave();
    clock.increment(1_000);
    expect(samples()).toBe(1);
    expect(hub.size).toBe(0);
  });

  it('never skip a change: each message continues where the last ended', () => {
    const { clock, state, hub } = setUp(50);
    const reader = new Reader();
    hub.add(reader);
    for (let round = 0; round < 20; round++) {
      flip(state, round % 4);
      clock.increment(100);
    }
    const seqs = reader.events().flatMap((event) => event.data.changes.map((c) => c.seq));
    expect(seqs).toEqual(Array.from({ length: state.ring.lastSeq }, (_, i) => i + 1));
  });

  it('tell a viewer that fell behind the ring how many changes it missed, and resync it', () => {
    const { clock, state, hub } = setUp(4);
    const reader = new Reader();
    hub.add(reader);
    flip(state, 10); // 10 changes within one interval, the ring keeps 4
    clock.increment(100);
    const resync = reader.events()[1];
    expect(resync?.event).toBe('snapshot');
    expect(resync?.data).toMatchObject({ reason: 'resync', missed: 6 });
    expect(resync?.data.changes.map((c) => c.seq)).toEqual([7, 8, 9, 10]);
    flip(state, 1);
    clock.increment(100);
    expect(reader.events()[2]?.data.changes.map((c) => c.seq)).toEqual([11]);
  });

  it('resume a reconnecting browser from its Last-Event-ID', () => {
    const { state, hub } = setUp();
    flip(state, 5);
    const resumed = new Reader();
    hub.add(resumed, 2);
    expect(resumed.events()[0]?.data).toMatchObject({ reason: 'resume', missed: 0 });
    expect(resumed.events()[0]?.data.changes.map((c) => c.seq)).toEqual([3, 4, 5]);
    // An id this server never gave (it restarted): start afresh.
    const stranger = new Reader();
    hub.add(stranger, 99);
    expect(stranger.events()[0]?.data).toMatchObject({ reason: 'connect' });
    expect(stranger.events()[0]?.data.changes).toHaveLength(5);
  });

  it('drop a viewer whose unsent bytes exceed the limit, and keep serving the others', () => {
    const { clock, state, hub } = setUp(100, 2_048);
    const stalled = new Stalled();
    const reader = new Reader();
    hub.add(stalled);
    hub.add(reader);
    let sends = 0;
    while (!stalled.destroyed && sends < 1_000) {
      flip(state, 1);
      clock.increment(100);
      sends++;
    }
    expect(stalled.destroyed).toBe(true);
    expect(stalled.writableLength).toBeGreaterThan(2_048);
    expect(hub.dropped).toBe(1);
    expect(hub.size).toBe(1);
    flip(state, 1);
    clock.increment(100);
    const seqs = reader.events().flatMap((event) => event.data.changes.map((c) => c.seq));
    expect(seqs).toEqual(Array.from({ length: state.ring.lastSeq }, (_, i) => i + 1));
    expect(reader.destroyed).toBe(false);
  });

  it('end every stream on closeAll', () => {
    const { hub } = setUp();
    const readers = [new Reader(), new Reader()];
    for (const reader of readers) hub.add(reader);
    hub.closeAll();
    expect(readers.map((reader) => reader.destroyed)).toEqual([true, true]);
    expect(hub.size).toBe(0);
  });
});
