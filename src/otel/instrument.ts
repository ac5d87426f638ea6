import type { Attributes, BatchObservableCallback, Histogram, Meter } from '@opentelemetry/api';
import type { BreakerState } from '../CircuitBreaker.js';
import { optionNames, refuseUnknownOptions } from '../optionNames.js';
import type { SyncWorker } from '../SyncWorker.js';
import { optionsObject, positiveInteger } from '../validate.js';
import type { WorkerParts } from '../worker/collaborators.js';
import { FateTally } from '../worker/fateTally.js';
import { partsOf } from '../worker/internals.js';
import { nameOf, type RunObserver } from '../worker/runner.js';
import { workerStats } from '../worker/stats.js';
import type { WorkerState } from '../worker/types.js';
import {
  ATTR,
  attributesOf,
  errorTypes,
  FATES,
  failedRunAttributes,
  type NameAttributes,
} from './attributes.js';
import { createInstruments, type Instruments } from './instruments.js';

const OWNER = 'instrument';
/** Most task names with their own attribute value; the default of `maxNames`. */
export const DEFAULT_MAX_NAMES = 50;
/** The largest `maxNames`: each name costs a few series per instrument. */
export const MAX_NAMES = 1_000;

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where the instruments are created: `metrics.getMeter(…)` or a `MeterProvider`'s `getMeter(…)`. */
  meter: Meter;
  /**
   * Most distinct task names (handlers, closure `name`s) reported as their
   * own `messaging.destination.name`; later names are reported as `_OTHER`.
   * An integer from 1 to 1000. Default 50.
   */
  maxNames?: number;
  /**
   * Whether to record each run's duration in the `messaging.process.duration`
   * histogram: the one call into OpenTelemetry per run (with the SDK 2.12,
   * a few µs and about 2 KB, mostly its hashing of the attributes; the
   * README gives the bench's numbers). `false` leaves the observable
   * instruments only, which cost a task nothing in OpenTelemetry. Default `true`.
   */
  durations?: boolean;
}

/** What {@link instrument} returns. */
export interface SyncWorkerInstrumentation {
  /**
   * Detaches from the worker and the meter: no more observations, no more
   * recorded runs, and the worker stops counting fates per name. Idempotent.
   */
  stop(): void;
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];
const WORKER_STATES: readonly WorkerState[] = [
  'idle',
  'draining',
  'blocked',
  'backoff',
  'stopping',
  'shutdown',
];

/**
 * Reports a worker's metrics through OpenTelemetry (the table in the README
 * lists them). The counters of fates and the gauges are observable: the
 * meter reads the worker's own counts when it collects, and a task costs no
 * call into OpenTelemetry for them. The run duration histogram is the one
 * per-run cost. Counts start at this call. One instrumentation per worker at
 * a time; `stop()` it before instrumenting the worker again.
 *
 * @throws TypeError when `worker` is not a `SyncWorker`, an option is
 *   unknown or of the wrong type, or the worker is instrumented already;
 *   RangeError for a `maxNames` out of range.
 */
export function instrument(
  worker: SyncWorker,
  options: InstrumentOptions,
): SyncWorkerInstrumentation {
  const parts = partsOf(worker);
  if (parts === undefined) {
    throw new TypeError(`${OWNER}: worker must be a SyncWorker of this package`);
  }
  const { meter, maxNames, durations } = instrumentSettings(options);
  if (parts.fates.tally !== undefined || parts.runner.observer !== undefined) {
    throw new TypeError(`${OWNER}: the worker is instrumented already; stop() that first`);
  }
  const tally = new FateTally(maxNames);
  const base: Attributes = { [ATTR.worker]: worker.name };
  const instruments = createInstruments(meter, durations);
  const observe = observer(parts, instruments, tally, base);
  const histogram = instruments.runDuration;
  const recordRun = histogram === undefined ? undefined : runRecorder(histogram, tally, base);
  meter.addBatchObservableCallback(observe, instruments.observables);
  parts.fates.tally = tally;
  parts.runner.observer = recordRun;
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      meter.removeBatchObservableCallback(observe, instruments.observables);
      if (parts.fates.tally === tally) parts.fates.tally = undefined;
      if (parts.runner.observer === recordRun) parts.runner.observer = undefined;
    },
  };
}

/** Every option of {@link InstrumentOptions}; one line per option. */
const OPTION_NAMES = optionNames<InstrumentOptions>()(['meter', 'maxNames', 'durations']);

function instrumentSettings(options: unknown): {
  meter: Meter;
  maxNames: number;
  durations: boolean;
} {
  if (options === undefined) throw new TypeError(`${OWNER}: options with a meter are required`);
  const o = optionsObject<InstrumentOptions>(OWNER, options);
  refuseUnknownOptions(OWNER, o, OPTION_NAMES);
  const meter = o.meter as Partial<Meter> | undefined;
  const methods = [
    'createHistogram',
    'createObservableCounter',
    'createObservableUpDownCounter',
    'createObservableGauge',
    'addBatchObservableCallback',
    'removeBatchObservableCallback',
  ] as const;
  if (
    typeof meter !== 'object' ||
    meter === null ||
    methods.some((m) => typeof meter[m] !== 'function')
  ) {
    throw new TypeError(
      `${OWNER}: meter must be an OpenTelemetry Meter (metrics.getMeter() or a MeterProvider's getMeter())`,
    );
  }
  const maxNames = positiveInteger(
    OWNER,
    'maxNames',
    o.maxNames,
    DEFAULT_MAX_NAMES,
    false,
    MAX_NAMES,
  );
  if (o.durations !== undefined && typeof o.durations !== 'boolean') {
    throw new TypeError(`${OWNER}: durations must be a boolean, got ${typeof o.durations}`);
  }
  return { meter: meter as Meter, maxNames, durations: o.durations !== false };
}

/** Records each run's duration, in seconds, under its name's attributes (and its `error.type`). */
function runRecorder(histogram: Histogram, tally: FateTally, base: Attributes): RunObserver {
  const errorType = errorTypes();
  return (task, durationMs, error) => {
    try {
      const names = attributesOf(tally.rowNamed(nameOf(task)), base);
      const attributes =
        error === undefined ? names.run : failedRunAttributes(names, errorType(error));
      histogram.record(durationMs / 1_000, attributes);
    } catch {
      // The API's own meters never throw; one that does must not cost the worker a run's fate.
    }
  };
}

/** The batch callback: one read of the worker's state per collection, for every observable. */
function observer(
  parts: WorkerParts,
  instruments: Instruments,
  tally: FateTally,
  base: Attributes,
): BatchObservableCallback {
  const kinds = {
    closure: { ...base, [ATTR.kind]: 'closure' },
    durable: { ...base, [ATTR.kind]: 'durable' },
  };
  const breakerStates = BREAKER_STATES.map((state) => ({ ...base, [ATTR.breakerState]: state }));
  const workerStates = WORKER_STATES.map((state) => ({ ...base, [ATTR.lifecycleState]: state }));
  return (result) => {
    const stats = workerStats(parts);
    const i = instruments;
    result.observe(i.queueSize, stats.queued, kinds.closure);
    result.observe(i.runsActive, stats.running, base);
    result.observe(i.timeout, stats.timeoutMs / 1_000, base);
    const p95 = parts.tracker?.p95;
    if (p95 !== undefined) result.observe(i.latencyP95, p95 / 1_000, base);
    if (parts.durable !== undefined) {
      result.observe(i.queueSize, stats.backlogInMemory, kinds.durable);
      result.observe(i.backlogSize, stats.backlog, base);
      // After shutdown the store is released: nothing is left to read the age from.
      const ageMs = stats.state === 'shutdown' ? 0 : (parts.durable.oldestAgeMs() ?? 0);
      result.observe(i.backlogOldestAge, ageMs / 1_000, base);
    }
    if (stats.breakerState !== 'none') {
      BREAKER_STATES.forEach((state, k) => {
        result.observe(i.breakerState, state === stats.breakerState ? 1 : 0, breakerStates[k]);
      });
    }
    WORKER_STATES.forEach((state, k) => {
      result.observe(i.lifecycleState, state === stats.state ? 1 : 0, workerStates[k]);
    });
    for (const row of tally.rows()) {
      const names: NameAttributes = attributesOf(row, base);
      FATES.forEach(([, field], k) => {
        result.observe(i.tasks, row[field] as number, names.fates[k]);
      });
      result.observe(i.retries, row.retried, names.retries);
    }
  };
}
