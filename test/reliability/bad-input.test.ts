/**
 * Bad input, table-driven: every constructor option of SyncWorker,
 * CircuitBreaker and LatencyTracker, every field of a closure task given to
 * `enqueue`, and the arguments of `shutdown`, `allow` and `on`, each with the
 * values that are invalid for it, the exact error class and a message that
 * names the option.
 *
 * The option list follows the source: `src/validate.ts` (positiveInteger,
 * positiveNumber, delayMs, optionalFunction, optionsObject, clockOption,
 * loggerOption), `breakerSettings` and the constructor of CircuitBreaker,
 * `latencySettings`, `retryPolicy` (src/durable/retry.ts), the constructor
 * of SyncWorker (`name`, `trace`, `handlers`/`backlog`, `onDeadLetter`,
 * `idleAfterMs`) and
 * `taskKind`/`validateTask` (src/taskValidation.ts). Fields of durable tasks
 * are covered in test/durable/. Gaps found here are in ./bugs.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  CircuitBreaker,
  LatencyTracker,
  MAX_DELAY_MS,
  memoryBacklog,
  type SyncTask,
  SyncWorker,
} from '../../src/index.js';

type ErrorClass = typeof TypeError | typeof RangeError;

/** One invalid value for one option: what to build, what must be thrown, what its message must name. */
interface Row {
  /** E.g. `SyncWorker: breaker: failureThreshold`, the prefix the message must contain. */
  option: string;
  value: unknown;
  error: ErrorClass;
  build: (value: unknown) => unknown;
  /** Shown instead of the value in the test name. */
  label?: string;
}

/** How a value is shown in a test name. */
function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || value === null || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The values invalid for each kind of option, by the error they must raise. */
const INVALID = {
  positiveInteger: (allowInfinity: boolean): [unknown, ErrorClass][] => [
    ['3', TypeError],
    [null, TypeError],
    [true, TypeError],
    [3n, TypeError],
    [{}, TypeError],
    [Number.NaN, RangeError],
    [0, RangeError],
    [-1, RangeError],
    [1.5, RangeError],
    [Number.NEGATIVE_INFINITY, RangeError],
    ...(allowInfinity ? [] : ([[Number.POSITIVE_INFINITY, RangeError]] as [unknown, ErrorClass][])),
  ],
  positiveNumber: (): [unknown, ErrorClass][] => [
    ['3', TypeError],
    [null, TypeError],
    [true, TypeError],
    [Number.NaN, RangeError],
    [0, RangeError],
    [-2, RangeError],
    [Number.POSITIVE_INFINITY, RangeError],
    [Number.NEGATIVE_INFINITY, RangeError],
  ],
  delay: (allowZero: boolean): [unknown, ErrorClass][] => [
    ['100', TypeError],
    [null, TypeError],
    [true, TypeError],
    [100n, TypeError],
    [Number.NaN, RangeError],
    [-1, RangeError],
    [-0.5, RangeError],
    [Number.NEGATIVE_INFINITY, RangeError],
    [Number.POSITIVE_INFINITY, RangeError],
    [MAX_DELAY_MS + 1, RangeError], // 2³¹: a timer would fire after about 1 ms
    [1e12, RangeError],
    ...(allowZero ? [] : ([[0, RangeError]] as [unknown, ErrorClass][])),
  ],
  function: (): [unknown, ErrorClass][] => [
    [null, TypeError],
    [true, TypeError],
    ['() => true', TypeError],
    [1, TypeError],
    [{}, TypeError],
  ],
  boolean: (): [unknown, ErrorClass][] => [
    ['yes', TypeError],
    [1, TypeError],
    [null, TypeError],
    [{}, TypeError],
  ],
  optionsObject: (): [unknown, ErrorClass][] => [
    [null, TypeError],
    [5, TypeError],
    ['options', TypeError],
    [true, TypeError],
    [[], TypeError],
  ],
  clock: (): [unknown, ErrorClass][] => [
    [null, TypeError],
    [5, TypeError],
    ['clock', TypeError],
    [() => 0, TypeError],
    [{}, TypeError],
    [{ now: () => 0 }, TypeError],
    [{ now: () => 0, setTimeout: () => 0 }, TypeError],
    [{ now: 0, setTimeout: () => 0, clearTimeout: () => {} }, TypeError],
  ],
  logger: (): [unknown, ErrorClass][] => [
    [null, TypeError],
    [1, TypeError],
    ['console', TypeError],
    [true, TypeError],
  ],
};

function rows(
  option: string,
  values: [unknown, ErrorClass][],
  build: (value: unknown) => unknown,
): Row[] {
  return values.map(([value, error]) => ({ option, value, error, build }));
}

// --- the builders ------------------------------------------------------------

const worker = (options: unknown) => new SyncWorker(options as never);
const breaker = (options: unknown) => new CircuitBreaker(options as never);
const tracker = (options: unknown) => new LatencyTracker(options as never);

/** Rows for an option of an options object, at `prefix` (the owner) and built by `make`. */
function optionRows(
  prefix: string,
  make: (options: Record<string, unknown>) => unknown,
  spec: Record<string, [unknown, ErrorClass][]>,
): Row[] {
  return Object.entries(spec).flatMap(([name, values]) =>
    rows(`${prefix}: ${name}`, values, (value) => make({ [name]: value })),
  );
}

const BREAKER_OPTIONS = {
  failureThreshold: INVALID.positiveInteger(false),
  probeIntervalMs: INVALID.delay(true),
  probeTimeoutMs: INVALID.delay(false),
};

const TRACKER_OPTIONS = {
  window: INVALID.positiveInteger(false),
  warmupSamples: INVALID.positiveInteger(false),
  defaultMs: INVALID.delay(false),
  floorMs: INVALID.delay(true),
  ceilingMs: INVALID.delay(false),
  headroom: INVALID.positiveNumber(),
};

/** Options whose validity depends on another one. */
const CROSS_FIELD: Row[] = [
  {
    option: 'LatencyTracker: warmupSamples',
    label: 'warmupSamples 5 > window 4',
    value: { window: 4, warmupSamples: 5 },
    error: RangeError,
    build: tracker,
  },
  {
    option: 'LatencyTracker: floorMs',
    label: 'floorMs 10 > ceilingMs 5',
    value: { floorMs: 10, ceilingMs: 5 },
    error: RangeError,
    build: tracker,
  },
  {
    option: 'SyncWorker: latencyTracker: warmupSamples',
    label: 'warmupSamples 4 > window 3',
    value: { latencyTracker: { window: 3, warmupSamples: 4 } },
    error: RangeError,
    build: worker,
  },
  {
    option: 'SyncWorker: latencyTracker: floorMs',
    label: 'floorMs 60000 > ceilingMs 1000',
    value: { latencyTracker: { floorMs: 60_000, ceilingMs: 1_000 } },
    error: RangeError,
    build: worker,
  },
  {
    option: 'SyncWorker: retry.maxMs',
    label: 'maxMs 999 < baseMs 1000',
    value: { retry: { baseMs: 1_000, maxMs: 999 } },
    error: RangeError,
    build: worker,
  },
  {
    option: 'SyncWorker: handlers',
    label: 'handlers without a backlog',
    value: { handlers: { write: () => {} } },
    error: TypeError,
    build: worker,
  },
  {
    option: 'SyncWorker: handlers',
    label: 'handlers with a backlog that is not a store',
    value: { handlers: { write: () => {} }, backlog: { open: 'not a store' } },
    error: TypeError,
    build: worker,
  },
  {
    // The message names handlers: durable tasks need both.
    option: 'SyncWorker: handlers',
    label: 'a backlog without handlers',
    value: { backlog: {} },
    error: TypeError,
    build: worker,
  },
];

const CONSTRUCTOR_ROWS: Row[] = [
  // new SyncWorker(options)
  ...rows('SyncWorker: options', INVALID.optionsObject(), worker),
  ...optionRows('SyncWorker', worker, {
    maxQueue: INVALID.positiveInteger(true),
    name: [
      ['', TypeError],
      [42, TypeError],
      [null, TypeError],
      [{}, TypeError],
    ],
    clock: INVALID.clock(),
    logger: INVALID.logger(),
    countsAsFailure: INVALID.function(),
    trace: INVALID.boolean(),
    onDeadLetter: INVALID.function(),
    idleAfterMs: INVALID.delay(true),
    handlers: [
      [null, TypeError],
      [5, TypeError],
      [[], TypeError],
      [{ write: 'not a function' }, TypeError],
    ],
  }),
  ...rows('SyncWorker: breaker: options', INVALID.optionsObject(), (value) =>
    worker({ breaker: value }),
  ),
  ...optionRows('SyncWorker: breaker', (o) => worker({ breaker: o }), BREAKER_OPTIONS),
  ...rows('SyncWorker: latencyTracker: options', INVALID.optionsObject(), (value) =>
    worker({ latencyTracker: value }),
  ),
  ...optionRows(
    'SyncWorker: latencyTracker',
    (o) => worker({ latencyTracker: o }),
    TRACKER_OPTIONS,
  ),
  ...rows('SyncWorker: retry: options', INVALID.optionsObject(), (value) =>
    worker({ retry: value }),
  ),
  ...Object.entries({
    maxAttempts: INVALID.positiveInteger(false),
    baseMs: INVALID.delay(false),
    maxMs: INVALID.delay(false),
    isRetryable: INVALID.function(),
  }).flatMap(([name, values]) =>
    rows(`SyncWorker: retry.${name}`, values, (value) => worker({ retry: { [name]: value } })),
  ),

  // new CircuitBreaker(options)
  ...rows('CircuitBreaker: options', INVALID.optionsObject(), breaker),
  ...optionRows('CircuitBreaker', breaker, {
    ...BREAKER_OPTIONS,
    clock: INVALID.clock(),
    logger: INVALID.logger(),
  }),

  // new LatencyTracker(options)
  ...rows('LatencyTracker: options', INVALID.optionsObject(), tracker),
  ...optionRows('LatencyTracker', tracker, TRACKER_OPTIONS),

  ...CROSS_FIELD,
];

/** Catches what `build` throws; a value that is accepted fails the row. */
function thrownBy(build: () => unknown): unknown {
  try {
    const built = build();
    // Accepted by mistake: stop what was started, then report.
    if (built instanceof SyncWorker) void built.shutdown({ timeoutMs: 0 });
    if (built instanceof CircuitBreaker || built instanceof LatencyTracker) built.dispose();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectRejected(row: Row): void {
  const error = thrownBy(() => row.build(row.value));
  expect(error, `${row.option} = ${show(row.value)} was accepted`).toBeInstanceOf(row.error);
  // The exact class: a RangeError row must not pass with some subclass of a TypeError, or the reverse.
  expect((error as Error).constructor).toBe(row.error);
  expect((error as Error).message).toContain(row.option);
}

describe('bad input: constructor options', () => {
  it.each(
    CONSTRUCTOR_ROWS.map(
      (row) => [row.option, row.label ?? show(row.value), row.error.name, row] as const,
    ),
  )('%s = %s → %s', (_option, _value, _name, row) => expectRejected(row));
});

// --- enqueue ---------------------------------------------------------------

const ENQUEUE = 'SyncWorker.enqueue';
const run = () => 'ok';

const TASK_ROWS: [label: string, task: unknown, fragment: string][] = [
  ...([undefined, null, 5, 'task', true, run] as unknown[]).map(
    (task): [string, unknown, string] => [`task = ${show(task)}`, task, `${ENQUEUE}: task must be`],
  ),
  ['no run (and no handler)', {}, `${ENQUEUE}: a task needs run()`],
  ['only a name', { name: 'x' }, `${ENQUEUE}: a task needs run()`],
  ['both run and handler', { run, handler: 'write' }, `${ENQUEUE}: a task has run()`],
  ...([null, 5, 'run', {}] as unknown[]).map((value): [string, unknown, string] => [
    `run = ${show(value)}`,
    { run: value },
    `${ENQUEUE}: task.run`,
  ]),
  ...([5, null, {}, true] as unknown[]).map((value): [string, unknown, string] => [
    `name = ${show(value)}`,
    { run, name: value },
    `${ENQUEUE}: task.name`,
  ]),
  ...(['onSuccess', 'onFailure'] as const).flatMap((field) =>
    ([null, 'callback', 1, {}] as unknown[]).map((value): [string, unknown, string] => [
      `${field} = ${show(value)}`,
      { run, [field]: value },
      `${ENQUEUE}: task.${field}`,
    ]),
  ),
];

describe('bad input: enqueue (closure tasks)', () => {
  it.each(TASK_ROWS)('%s → TypeError', (_label, task, fragment) => {
    const w = new SyncWorker({ clock: new SimulatedClock() });
    const error = thrownBy(() => w.enqueue(task as SyncTask));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).constructor).toBe(TypeError);
    expect((error as Error).message).toContain(fragment);
    // Nothing was accepted, refused or started.
    expect(w.stats()).toMatchObject({ queued: 0, running: 0, refused: 0 });
    expect(w.isRunning).toBe(false);
  });
});

// --- other arguments ---------------------------------------------------------

describe('bad input: shutdown(), allow() and on()', () => {
  it.each(INVALID.optionsObject().map(([value]) => [show(value), value] as const))(
    'shutdown(%s) → TypeError naming its options',
    (_, value) => {
      const w = new SyncWorker({ clock: new SimulatedClock() });
      const error = thrownBy(() => w.shutdown(value as never));
      expect((error as Error).constructor).toBe(TypeError);
      expect((error as Error).message).toContain('SyncWorker.shutdown: options');
      expect(w.state).toBe('idle'); // not shut down by a bad call
    },
  );

  const named = (values: [unknown, ErrorClass][]) =>
    values.map(([value, error]) => [show(value), error.name, value, error] as const);

  it.each(named(INVALID.delay(true)))(
    'shutdown({ timeoutMs: %s }) → %s',
    (_, _name, value, error) => {
      const w = new SyncWorker({ clock: new SimulatedClock() });
      const thrown = thrownBy(() => w.shutdown({ timeoutMs: value as number }));
      expect((thrown as Error).constructor).toBe(error);
      expect((thrown as Error).message).toContain('SyncWorker.shutdown: timeoutMs');
      expect(w.state).toBe('idle');
    },
  );

  it.each(named(INVALID.delay(false)))(
    'a half-open breaker: allow(%s) → %s naming probeTimeoutMs',
    (_, _name, value, error) => {
      const clock = new SimulatedClock();
      const b = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 10, clock });
      b.recordFailure();
      clock.increment(10);
      expect(b.state).toBe('half_open');
      const thrown = thrownBy(() => b.allow(value as number));
      expect((thrown as Error).constructor).toBe(error);
      expect((thrown as Error).message).toContain('CircuitBreaker: probeTimeoutMs');
      expect(b.allow()).toBe(true); // the bad call did not take the permit
      b.dispose();
    },
  );

  it.each([
    ['SyncWorker', () => new SyncWorker({ clock: new SimulatedClock() })],
    ['CircuitBreaker', () => new CircuitBreaker({ clock: new SimulatedClock() })],
  ] as const)(
    '%s.on(): an unknown event or a listener that is not a function → TypeError',
    (_, make) => {
      const target = make() as { on(type: string, listener: unknown): unknown };
      for (const [type, listener, fragment] of [
        ['stateChanged', () => {}, 'unknown event "stateChanged"'],
        ['', () => {}, 'unknown event ""'],
        ['stateChange', 'listener', 'listener for "stateChange" must be a function'],
        ['stateChange', undefined, 'listener for "stateChange" must be a function'],
      ] as const) {
        const error = thrownBy(() => target.on(type, listener));
        expect((error as Error).constructor).toBe(TypeError);
        expect((error as Error).message).toContain(fragment);
      }
    },
  );
});

// --- the boundaries are accepted -------------------------------------------

describe('bad input: the valid extremes are accepted', () => {
  it.each([
    ['maxQueue 1 and Infinity', () => [worker({ maxQueue: 1 }), worker({ maxQueue: Infinity })]],
    [
      'idleAfterMs 0 and 2³¹−1',
      () => [worker({ idleAfterMs: 0 }), worker({ idleAfterMs: MAX_DELAY_MS })],
    ],
    [
      'breaker: failureThreshold 1, probeIntervalMs 0 and 2³¹−1, probeTimeoutMs 2³¹−1',
      () => [
        breaker({ failureThreshold: 1, probeIntervalMs: 0 }),
        breaker({ probeIntervalMs: MAX_DELAY_MS, probeTimeoutMs: MAX_DELAY_MS }),
      ],
    ],
    [
      'tracker: floorMs 0, ceilingMs and defaultMs 2³¹−1, warmupSamples = window = 1, tiny headroom',
      () => [
        tracker({ floorMs: 0, ceilingMs: MAX_DELAY_MS, defaultMs: MAX_DELAY_MS }),
        tracker({ window: 1, warmupSamples: 1, headroom: Number.MIN_VALUE }),
      ],
    ],
    [
      'worker: breaker and latencyTracker false, retry at its bounds',
      () => [
        worker({
          breaker: false,
          latencyTracker: false,
          // retry does something only for durable tasks, so they are set up.
          backlog: memoryBacklog(),
          handlers: { write: () => {} },
          retry: { maxAttempts: 1, baseMs: MAX_DELAY_MS, maxMs: MAX_DELAY_MS },
        }),
      ],
    ],
  ] as const)('%s', (_, build) => {
    const built = build();
    expect(built.length).toBeGreaterThan(0);
    for (const b of built) {
      if (b instanceof SyncWorker) void b.shutdown({ timeoutMs: 0 });
      else b.dispose();
    }
  });

  it('shutdown({ timeoutMs }) accepts 0 and 2³¹−1', async () => {
    const a = new SyncWorker({ clock: new SimulatedClock() });
    const b = new SyncWorker({ clock: new SimulatedClock() });
    await a.shutdown({ timeoutMs: 0 });
    await b.shutdown({ timeoutMs: MAX_DELAY_MS });
    expect([a.state, b.state]).toEqual(['shutdown', 'shutdown']);
  });
});

it('the catalogue covers every option kind of src/validate.ts', () => {
  // A guard against the table silently shrinking: counts per owner.
  const owners = (prefix: string) => CONSTRUCTOR_ROWS.filter((r) => r.option.startsWith(prefix));
  expect(owners('SyncWorker: ').length).toBeGreaterThan(100);
  expect(owners('CircuitBreaker: ').length).toBeGreaterThan(30);
  expect(owners('LatencyTracker: ').length).toBeGreaterThan(50);
  expect(TASK_ROWS.length).toBeGreaterThan(20);
});
