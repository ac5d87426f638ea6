import { describe, expect, it } from 'vitest';
import { memoryBacklog, SyncWorker, type SyncWorkerEvents } from '../../src/index.js';
import { durableWorker } from '../support/durable.js';
import { settled } from '../support/tasks.js';

class Point {
  constructor(readonly x: number) {}
}

describe('durable tasks: validation at enqueue', () => {
  it('tells closure tasks from durable ones, and refuses both or neither', () => {
    const { worker } = durableWorker();
    const both = { run: () => 1, handler: 'write', payload: 1 };
    expect(() => worker.enqueue(both as never)).toThrow(/run\(\).*or handler.*not both/);
    expect(() => worker.enqueue({ name: 'x' } as never)).toThrow(/needs run\(\).*or handler/);
  });

  it('refuses an unknown handler, naming the registered ones', () => {
    const { worker } = durableWorker();
    // @ts-expect-error the compiler refuses it too: the worker's handlers are typed.
    expect(() => worker.enqueue({ handler: 'nope', payload: 1 })).toThrow(
      /unknown handler "nope"; registered: write/,
    );
  });

  it.each([
    ['a Date', { items: [0, 1, 2, { at: new Date(0) }] }, /payload\.items\[3\]\.at .*a Date/],
    ['a Map', { m: new Map() }, /payload\.m .*a Map/],
    ['a Set', [new Set()], /payload\[0\] .*a Set/],
    ['an undefined value', { a: undefined }, /payload\.a .*undefined/],
    ['a BigInt', { n: 1n }, /payload\.n .*BigInt/],
    ['a function', { f: () => 1 }, /payload\.f .*function/],
    ['a class instance', { p: new Point(1) }, /payload\.p .*a Point/],
    ['NaN', { n: Number.NaN }, /payload\.n .*not a finite number/],
    ['Infinity', [Number.POSITIVE_INFINITY], /payload\[0\] .*not a finite number/],
  ])('refuses a payload holding %s, naming its path', (_label, payload, message) => {
    const { worker } = durableWorker();
    expect(() => worker.enqueue({ handler: 'write', payload: payload as never })).toThrow(
      TypeError,
    );
    expect(() => worker.enqueue({ handler: 'write', payload: payload as never })).toThrow(message);
  });

  it('refuses a cyclic payload', () => {
    const { worker } = durableWorker();
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(() => worker.enqueue({ handler: 'write', payload: cycle as never })).toThrow(
      /payload\.self .*cycle/,
    );
  });

  it('accepts plain JSON: nested objects, arrays, null-prototype objects, shared (non-cyclic) values', () => {
    const { worker } = durableWorker();
    const shared = { s: 'x' };
    const bare = Object.assign(Object.create(null), { k: true });
    expect(
      worker.enqueue({
        handler: 'write',
        payload: { a: [1, 'b', null, false], shared, again: shared, bare },
      }),
    ).toBe(true);
  });

  it('checks key, id and the fields a durable task cannot carry', () => {
    const { worker } = durableWorker();
    expect(() => worker.enqueue({ handler: 'write', payload: 1, key: '' })).toThrow(/task\.key/);
    expect(() => worker.enqueue({ handler: 'write', payload: 1, id: 'x'.repeat(257) })).toThrow(
      /task\.id must be a string of 1 to 256/,
    );
    expect(() => worker.enqueue({ handler: 'write', payload: 1, key: 5 } as never)).toThrow(
      /task\.key/,
    );
    expect(() => worker.enqueue({ handler: 'write' } as never)).toThrow(
      /task\.payload is required/,
    );
    expect(() =>
      worker.enqueue({ handler: 'write', payload: 1, onFailure: () => {} } as never),
    ).toThrow(/cannot carry onFailure/);
  });

  it('refuses durable tasks on a worker without handlers', () => {
    const worker = new SyncWorker();
    expect(() => worker.enqueue({ handler: 'write', payload: 1 })).toThrow(
      /durable tasks need the worker's handlers and backlog/,
    );
  });

  it('refuses handlers without a backlog, and handlers that are not functions, at construction', () => {
    expect(() => new SyncWorker({ handlers: { write: () => 1 } })).toThrow(
      /handlers need a backlog/,
    );
    expect(
      () => new SyncWorker({ handlers: { write: 'x' as never }, backlog: memoryBacklog() }),
    ).toThrow(/handlers\.write must be a function/);
  });
});

describe('durable tasks: delivery', () => {
  it('runs the handler with the payload and the task context, then forgets the record', async () => {
    const { worker, remote, backlog } = durableWorker();
    const succeeded: SyncWorkerEvents['taskSucceeded'][] = [];
    worker.on('taskSucceeded', (event) => succeeded.push(event));
    expect(worker.enqueue({ handler: 'write', payload: { text: 'hi' }, key: 's1', id: 'm1' })).toBe(
      true,
    );
    await worker.onIdle();
    expect(remote.calls).toEqual([{ payload: { text: 'hi' }, id: 'm1', key: 's1', attempt: 1 }]);
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]?.task).toMatchObject({
      handler: 'write',
      id: 'm1',
      key: 's1',
      attempts: 1,
    });
    expect(backlog.stats().pending).toBe(0);
    expect(worker.stats()).toMatchObject({ backlog: 0, completed: 1, failed: 0 });
  });

  it('gives each task a unique id and the shared default key when none is given', async () => {
    const { worker, remote } = durableWorker();
    worker.enqueue({ handler: 'write', payload: 1 });
    worker.enqueue({ handler: 'write', payload: 2 });
    await worker.onIdle();
    const [first, second] = remote.calls;
    expect(first?.key).toBe('default');
    expect(second?.key).toBe('default');
    expect(first?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first?.id).not.toBe(second?.id);
  });

  it('keeps a copy of the payload: changing the object after enqueue changes nothing', async () => {
    const { worker, remote } = durableWorker();
    const payload = { text: 'before' };
    worker.enqueue({ handler: 'write', payload });
    payload.text = 'after';
    await worker.onIdle();
    expect(remote.calls[0]?.payload).toEqual({ text: 'before' });
  });

  it('delivers each key in enqueue order, round robin across keys', async () => {
    const { worker, remote } = durableWorker();
    for (const [key, n] of [
      ['a', 1],
      ['a', 2],
      ['b', 1],
      ['b', 2],
      ['c', 1],
      ['a', 3],
    ] as const) {
      worker.enqueue({ handler: 'write', payload: `${key}${n}`, key });
    }
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('flush() resolves once every accepted task is in the store', async () => {
    const { worker, remote, backlog } = durableWorker();
    remote.answer(() => new Promise(() => {})); // the remote never answers: nothing is removed
    for (let i = 0; i < 5; i++) worker.enqueue({ handler: 'write', payload: i, key: `k${i % 2}` });
    expect(backlog.stats().pending).toBe(0); // enqueue never waits for the store
    await worker.flush();
    expect(backlog.list().map((r) => r.payload)).toEqual([0, 1, 2, 3, 4]);
    expect(worker.stats().backlog).toBe(5);
  });

  it('flush() resolves at once when nothing is being written, and without a backlog', async () => {
    const { worker } = durableWorker();
    await expect(worker.flush()).resolves.toBeUndefined();
    await expect(new SyncWorker().flush()).resolves.toBeUndefined();
  });

  it('closure tasks and durable tasks take turns', async () => {
    const { worker, remote } = durableWorker();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    remote.answer(() => gate);
    const order: string[] = [];
    worker.on('taskSucceeded', ({ task }) =>
      order.push('handler' in task ? `d${String(task.payload)}` : (task.name ?? '')),
    );
    worker.enqueue({ handler: 'write', payload: 1 });
    worker.enqueue({ handler: 'write', payload: 2 });
    await settled(); // committed; d1 runs and waits at the gate
    worker.enqueue({ name: 'c1', run: () => 1 });
    worker.enqueue({ name: 'c2', run: () => 2 });
    open();
    await worker.onIdle();
    expect(order).toEqual(['d1', 'c1', 'd2', 'c2']);
  });
});
