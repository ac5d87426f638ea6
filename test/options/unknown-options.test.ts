/**
 * Option names no part of the library reads are refused, at every level, with
 * a TypeError that names them and suggests the closest known name; options
 * that would do nothing in the set-up given are refused too, saying why.
 */
import { describe, expect, it } from 'vitest';
import {
  CircuitBreaker,
  LatencyTracker,
  memoryBacklog,
  type SyncTask,
  SyncWorker,
} from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { closestName, editDistance } from '../../src/optionNames.js';

const write = () => {};
const durable = () => ({ backlog: memoryBacklog(), handlers: { write } });

/** What `build` throws; fails the test when it throws nothing. */
function refusal(build: () => unknown): Error {
  let built: unknown;
  try {
    built = build();
  } catch (error) {
    return error as Error;
  }
  if (built instanceof SyncWorker) void built.shutdown({ timeoutMs: 0 });
  if (built instanceof CircuitBreaker || built instanceof LatencyTracker) built.dispose();
  throw new Error('accepted');
}

const UNKNOWN: [where: string, build: () => unknown, message: string][] = [
  [
    'a worker option',
    () => new SyncWorker({ maxQueu: 8 } as never),
    'SyncWorker: an unknown option "maxQueu" (did you mean "maxQueue"?); known: maxQueue, concurrency,',
  ],
  [
    'several worker options',
    () => new SyncWorker({ concurency: 2, handler: {}, zzz: 1 } as never),
    'SyncWorker: unknown options "concurency" (did you mean "concurrency"?), "handler" (did you mean "handlers"?), "zzz";',
  ],
  [
    "a worker's breaker option",
    () => new SyncWorker({ breaker: { failureTreshold: 3 } } as never),
    'SyncWorker: breaker: an unknown option "failureTreshold" (did you mean "failureThreshold"?); known: failureThreshold, probeIntervalMs, probeTimeoutMs',
  ],
  [
    "a worker's latencyTracker option",
    () => new SyncWorker({ latencyTracker: { ceilingMS: 100 } } as never),
    'SyncWorker: latencyTracker: an unknown option "ceilingMS" (did you mean "ceilingMs"?)',
  ],
  [
    'a retry option',
    () => new SyncWorker({ ...durable(), retry: { maxAtempts: 3 } } as never),
    'SyncWorker: retry: an unknown option "maxAtempts" (did you mean "maxAttempts"?); known: maxAttempts, baseMs, maxMs, isRetryable',
  ],
  [
    'a handler field',
    () =>
      new SyncWorker({
        backlog: memoryBacklog(),
        handlers: { write: { run: write, bach: {} } },
      } as never),
    'SyncWorker: handlers.write: an unknown option "bach" (did you mean "batch"?)',
  ],
  [
    'a CircuitBreaker option',
    () => new CircuitBreaker({ probeInterval: 1_000 } as never),
    'CircuitBreaker: an unknown option "probeInterval" (did you mean "probeIntervalMs"?); known: failureThreshold, probeIntervalMs, probeTimeoutMs, initialState, clock, inspect, logger',
  ],
  [
    'a LatencyTracker option',
    () => new LatencyTracker({ windowSize: 10 } as never),
    'LatencyTracker: an unknown option "windowSize" (did you mean "window"?)',
  ],
  [
    'an lmdbBacklog option',
    () => lmdbBacklog({ path: '/nonexistent/never-created', mapsize: 2 ** 20 } as never),
    'lmdbBacklog: an unknown option "mapsize" (did you mean "mapSize"?); known: path, readOnly, mapSize, maxBytes',
  ],
  [
    'a memoryBacklog option',
    () => memoryBacklog({ path: './.sync-backlog' } as never),
    'memoryBacklog: an unknown option "path"; it takes no options',
  ],
  [
    'a shutdown option',
    () => new SyncWorker().shutdown({ timeout: 5_000 } as never),
    'SyncWorker.shutdown: an unknown option "timeout" (did you mean "timeoutMs"?); known: timeoutMs',
  ],
  [
    'a durable task field',
    () => new SyncWorker(durable()).enqueue({ handler: 'write', payload: 1, kye: 'a' } as never),
    'SyncWorker.enqueue: task: an unknown field "kye" (did you mean "key"?); known: handler, payload, key, id',
  ],
  [
    "a durable task's handler name",
    // @ts-expect-error the compiler suggests it too
    () => new SyncWorker(durable()).enqueue({ handler: 'wirte', payload: 1 }),
    'SyncWorker.enqueue: unknown handler "wirte" (did you mean "write"?); registered: write',
  ],
];

const INEFFECTIVE: [what: string, build: () => unknown, message: string][] = [
  [
    'retry without a backlog',
    () => new SyncWorker({ retry: { maxAttempts: 3 } }),
    'SyncWorker: retry does nothing without a backlog',
  ],
  [
    'onDeadLetter without a backlog',
    () => new SyncWorker({ onDeadLetter: () => {} }),
    'SyncWorker: onDeadLetter does nothing without a backlog',
  ],
  [
    'handlers without a backlog',
    () => new SyncWorker({ handlers: { write } }),
    'SyncWorker: handlers need a backlog',
  ],
  [
    'a backlog without handlers',
    () => new SyncWorker({ backlog: memoryBacklog() }),
    'SyncWorker: handlers must be an object',
  ],
  [
    'countsAsFailure without a breaker',
    () => new SyncWorker({ breaker: false, countsAsFailure: () => true }),
    'SyncWorker: countsAsFailure does nothing with breaker: false',
  ],
  ...(['clock', 'inspect', 'logger'] as const).map((name): [string, () => unknown, string] => [
    `a clock, inspector or logger in the worker's breaker options (${name})`,
    () => new SyncWorker({ breaker: { [name]: console } } as never),
    `SyncWorker: breaker: ${name} does nothing here: the breaker a worker builds uses the worker's ${name}`,
  ]),
  [
    "an inspector in the worker's latencyTracker options",
    () => new SyncWorker({ latencyTracker: { inspect: () => {} } } as never),
    "SyncWorker: latencyTracker: inspect does nothing here: the worker's own inspect sees the tracker it builds",
  ],
];

describe('unknown option names are refused, naming them', () => {
  it.each(UNKNOWN)('%s', (_where, build, message) => {
    const error = refusal(build);
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toContain(message);
  });
});

describe('options that would do nothing are refused, saying why', () => {
  it.each(INEFFECTIVE)('%s', (_what, build, message) => {
    const error = refusal(build);
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toContain(message);
  });

  it('a bad value gets its own message before the set-up is judged', () => {
    const error = refusal(() => new SyncWorker({ retry: { maxAttempts: 0 } }));
    expect(error.constructor).toBe(RangeError);
    expect(error.message).toContain('SyncWorker: retry.maxAttempts');
  });

  it('the same options are accepted where they do something', async () => {
    const worker = new SyncWorker({
      ...durable(),
      retry: { maxAttempts: 3 },
      onDeadLetter: () => {},
      countsAsFailure: () => true,
    });
    const breaker = new CircuitBreaker({ clock: undefined, logger: console, inspect: () => {} });
    const tracker = new LatencyTracker({ inspect: () => {} });
    expect(worker.enqueue({ handler: 'write', payload: 1, key: 'a', id: 'x' })).toBe(true);
    await worker.shutdown();
    breaker.dispose();
    tracker.dispose();
  });
});

describe('a refused option leaves nothing behind', () => {
  it('the store is not opened, so the next worker takes it', async () => {
    const backlog = memoryBacklog(); // refuses a second open while owned
    refusal(() => new SyncWorker({ backlog, handlers: { write }, maxQueu: 1 } as never));
    const worker = new SyncWorker({ backlog, handlers: { write } });
    expect(worker.enqueue({ handler: 'write', payload: 1 })).toBe(true);
    await worker.shutdown();
  });

  it('a refused shutdown option does not shut the worker down', async () => {
    const worker = new SyncWorker();
    refusal(() => worker.shutdown({ timeout: 0 } as never));
    expect(worker.enqueue({ run: () => 'ran' } as SyncTask)).toBe(true);
    await worker.onIdle();
    expect(worker.stats().completed).toBe(1);
    await worker.shutdown();
  });
});

describe('the closest known name', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('failrueThreshold', 'failureThreshold')).toBe(1);
    expect(editDistance('maxQueu', 'maxQueue')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests only a name near enough to be a slip, ignoring case', () => {
    const known = ['maxQueue', 'concurrency', 'name'];
    expect(closestName('MAXQUEUE', known)).toBe('maxQueue');
    expect(closestName('concurency', known)).toBe('concurrency');
    expect(closestName('backlogPath', known)).toBeUndefined();
    expect(closestName('nm', known)).toBeUndefined(); // 2 edits in 2 letters is not a slip
  });
});
