import { describe, expect, it } from 'vitest';
import { MAX_BATCH_SIZE, MAX_CONCURRENCY, memoryBacklog, SyncWorker } from '../../src/index.js';

const write = async () => {};

describe('concurrency and batch options', () => {
  it.each([0, -1, 1.5, Number.NaN, MAX_CONCURRENCY + 1, Number.POSITIVE_INFINITY])(
    'refuses concurrency %s with a RangeError naming it',
    (concurrency) => {
      expect(() => new SyncWorker({ concurrency })).toThrow(RangeError);
      expect(() => new SyncWorker({ concurrency })).toThrow(/concurrency/);
    },
  );

  it('refuses a concurrency that is not a number with a TypeError', () => {
    expect(() => new SyncWorker({ concurrency: '4' as unknown as number })).toThrow(TypeError);
  });

  it('accepts concurrency up to MAX_CONCURRENCY', async () => {
    const worker = new SyncWorker({ concurrency: MAX_CONCURRENCY });
    await worker.shutdown();
  });

  it.each([
    [{ batch: { maxSize: 10 } }, /handlers\.write\.run must be a function/],
    [{ run: write, batch: {} }, /handlers\.write\.batch\.maxSize is required/],
    [{ run: write, batch: { maxSize: 0 } }, /handlers\.write\.batch\.maxSize/],
    [{ run: write, batch: { maxSize: MAX_BATCH_SIZE + 1 } }, /handlers\.write\.batch\.maxSize/],
    [
      { run: write, batch: { maxSize: 10, maxWait: 5 } },
      /handlers\.write\.batch: an unknown option "maxWait"/,
    ],
    [{ run: write, size: 10 }, /handlers\.write: an unknown option "size"/],
    [{ run: write, batch: 10 }, /handlers\.write\.batch must be an object/],
    [42, /handlers\.write must be a function of one payload, or \{ run, batch/],
  ])('refuses the handler %j, naming the field', (handler, message) => {
    expect(
      () =>
        new SyncWorker({
          backlog: memoryBacklog(),
          handlers: { write: handler as never },
        }),
    ).toThrow(message);
  });

  it('accepts { run } without batch as a handler of one payload', async () => {
    const seen: unknown[] = [];
    const worker = new SyncWorker({
      backlog: memoryBacklog(),
      handlers: { write: { run: async (payload: unknown) => seen.push(payload) } },
    });
    worker.enqueue({ handler: 'write', payload: 'one' });
    await worker.onIdle();
    expect(seen).toEqual(['one']);
    await worker.shutdown();
  });

  it.each(['', 7, 'k'.repeat(257)])(
    'refuses the closure task key %j with a TypeError naming it',
    (key) => {
      const worker = new SyncWorker();
      expect(() => worker.enqueue({ key: key as string, run: () => {} })).toThrow(
        /task\.key must be a string/,
      );
      void worker.shutdown();
    },
  );
});

describe('handlers by name', () => {
  it('finds no handler on the prototype: a kept task of "toString" goes to the dead letters', async () => {
    const backlog = memoryBacklog();
    const first = new SyncWorker({
      backlog,
      breaker: false,
      handlers: { toString: () => new Promise(() => {}) },
    });
    first.enqueue({ handler: 'toString', payload: null });
    await first.flush();
    await first.shutdown({ timeoutMs: 0 });
    const dead: string[] = [];
    const second = new SyncWorker({
      backlog,
      handlers: { write },
      onDeadLetter: (_task, error) => dead.push(error.message),
    });
    await second.onIdle();
    expect(dead).toEqual(['no handler is registered as "toString"']);
    await second.shutdown();
  });
});
