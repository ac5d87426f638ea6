import type {
  Histogram,
  Meter,
  Observable,
  ObservableCounter,
  ObservableGauge,
  ObservableUpDownCounter,
  ValueType,
} from '@opentelemetry/api';

// `ValueType.INT` of @opentelemetry/api 1.x, a plain number: with it the
// subpath imports only the API's types, so any Meter that follows the API works.
const INT = 0 as ValueType;

/** The names of every instrument {@link instrument} creates, for views and dashboards. */
export const SYNC_WORKER_METRICS = {
  /** Observable counter, `{task}`: tasks by fate (`sync_worker.task.fate`) and name. */
  tasks: 'sync_worker.tasks',
  /** Observable counter, `{retry}`: failed durable runs scheduled again, by name. */
  retries: 'sync_worker.task.retries',
  /** Histogram, `s`: each run's duration (a batch is one run), OpenTelemetry's messaging convention. */
  runDuration: 'messaging.process.duration',
  /** Observable up-down counter, `{task}`: tasks waiting in memory, by kind (`closure`, `durable`). */
  queueSize: 'sync_worker.queue.size',
  /** Observable up-down counter, `{run}`: runs in flight. */
  runsActive: 'sync_worker.runs.active',
  /** Observable up-down counter, `{task}`: durable tasks kept and not yet delivered or dead. */
  backlogSize: 'sync_worker.backlog.size',
  /** Observable gauge, `s`: how long ago the oldest pending durable task was enqueued. */
  backlogOldestAge: 'sync_worker.backlog.oldest_age',
  /** Observable gauge, `s`: the timeout the next run would get. */
  timeout: 'sync_worker.timeout',
  /** Observable gauge, `s`: the latency tracker's p95. */
  latencyP95: 'sync_worker.latency.p95',
  /** Observable up-down counter, `1`: 1 for the breaker's state, 0 for the others. */
  breakerState: 'sync_worker.breaker.state',
  /** Observable up-down counter, `1`: 1 for the lifecycle state (`worker.state`), 0 for the others. */
  lifecycleState: 'sync_worker.lifecycle.state',
} as const;

/**
 * The bucket bounds, in seconds, that OpenTelemetry's messaging conventions
 * advise for `messaging.process.duration`; a view on the provider can override them.
 */
export const RUN_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** The instruments of one instrumentation. */
export interface Instruments {
  tasks: ObservableCounter;
  retries: ObservableCounter;
  /** Absent with `durations: false`. */
  runDuration: Histogram | undefined;
  queueSize: ObservableUpDownCounter;
  runsActive: ObservableUpDownCounter;
  backlogSize: ObservableUpDownCounter;
  backlogOldestAge: ObservableGauge;
  timeout: ObservableGauge;
  latencyP95: ObservableGauge;
  breakerState: ObservableUpDownCounter;
  lifecycleState: ObservableUpDownCounter;
  /** Every observable above, for the one batch callback that reads them all. */
  observables: Observable[];
}

/** Creates (or, on a meter that has them, gets) the instruments on `meter`; the histogram only with `durations`. */
export function createInstruments(meter: Meter, durations: boolean): Instruments {
  const m = SYNC_WORKER_METRICS;
  const counter = (name: string, unit: string, description: string) =>
    meter.createObservableCounter(name, { unit, description, valueType: INT });
  const upDown = (name: string, unit: string, description: string) =>
    meter.createObservableUpDownCounter(name, { unit, description, valueType: INT });
  const gauge = (name: string, description: string) =>
    meter.createObservableGauge(name, { unit: 's', description });
  const made = {
    tasks: counter(m.tasks, '{task}', 'Tasks that reached a fate, by fate and task name'),
    retries: counter(m.retries, '{retry}', 'Failed durable runs scheduled to run again'),
    runDuration: durations
      ? meter.createHistogram(m.runDuration, {
          unit: 's',
          description: 'Duration of each run of a task (or batch) by the worker',
          advice: { explicitBucketBoundaries: RUN_DURATION_BUCKETS },
        })
      : undefined,
    queueSize: upDown(m.queueSize, '{task}', 'Tasks waiting in memory'),
    runsActive: upDown(m.runsActive, '{run}', 'Runs in flight'),
    backlogSize: upDown(m.backlogSize, '{task}', 'Durable tasks kept, not yet delivered or dead'),
    backlogOldestAge: gauge(m.backlogOldestAge, 'Age of the oldest pending durable task'),
    timeout: gauge(m.timeout, 'The timeout the next run would get'),
    latencyP95: gauge(m.latencyP95, "The latency tracker's p95 of recent runs"),
    breakerState: upDown(m.breakerState, '1', "1 for the circuit breaker's current state"),
    lifecycleState: upDown(m.lifecycleState, '1', "1 for the worker's lifecycle state"),
  };
  const { runDuration: _histogram, ...observables } = made;
  return { ...made, observables: Object.values(observables) };
}
