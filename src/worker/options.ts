import type { Provision, SystemInput } from '../../machines/system.machine.js';
import type { BacklogStore } from '../backlog/types.js';
import { breakerSettings, CircuitBreaker } from '../CircuitBreaker.js';
import { type Clock, systemClock } from '../clock.js';
import { type RetryPolicy, retryPolicy } from '../durable/retry.js';
import { guardedInspect, type Inspect } from '../inspect.js';
import { LatencyTracker, type LatencyTrackerOptions, latencySettings } from '../LatencyTracker.js';
import { type Logger, quietLogger } from '../logger.js';
import { refuseUnknownOptions } from '../optionNames.js';
import type { SharedBacklogStore } from '../shared/types.js';
import { type SharedWorkerSettings, sharedWorkerSettings } from '../shared/workerOptions.js';
import type { DurableTask } from '../task.js';
import {
  clockOption,
  delayMs,
  inspectOption,
  loggerOption,
  optionalFunction,
  optionsObject,
  positiveInteger,
} from '../validate.js';
import { handlersOption, type RegisteredHandler } from './handlerOptions.js';
import { type HealthSettings, healthSettings } from './health.js';
import { refuseIneffective, refuseWorkerProvided, WORKER_OPTION_NAMES } from './optionRules.js';
import type { SyncWorkerOptions } from './types.js';

const OWNER = 'SyncWorker';
const countEverything = () => true;
/** Largest `concurrency`: each run in flight holds a slot, and more than this is a mistake. */
export const MAX_CONCURRENCY = 1_024;

/** A worker's options, validated, with every default filled in. */
export interface WorkerSettings {
  maxQueue: number;
  /** Most tasks in flight at once, at most one per key. */
  concurrency: number;
  name: string;
  clock: Clock;
  logger: Logger;
  countsAsFailure: (error: Error) => boolean;
  trace: boolean;
  idleAfterMs: number;
  /** The inspector, guarded: one that throws is logged and detached. */
  inspect: ((event: import('xstate').InspectionEvent) => void) | undefined;
  /** The system machine's input: who provides the breaker, tracker and backlog. */
  system: SystemInput;
  /** The breaker the user built, when `system.breaker` is `external`. */
  breaker: CircuitBreaker | undefined;
  /** The tracker the user built (`external`), or the options of the worker's own (`owned`). */
  tracker: LatencyTracker | LatencyTrackerOptions | undefined;
  /** Durable tasks' settings, when the worker keeps them. */
  durable:
    | {
        store: BacklogStore | SharedBacklogStore;
        handlers: Readonly<Record<string, RegisteredHandler>>;
        retry: RetryPolicy;
      }
    | undefined;
  /** The shared backlog's settings, when `backlog` is a shared store. */
  shared: SharedWorkerSettings | undefined;
  onDeadLetter: ((task: DurableTask, error: Error) => void) | undefined;
  /** The thresholds of `health()`. */
  health: HealthSettings;
}

/**
 * Validates every option of a worker, before any actor starts or the store
 * opens, so a refused option never leaves anything running or locked.
 *
 * @throws TypeError or RangeError naming the option.
 */
export function workerSettings(options: unknown): WorkerSettings {
  const o = optionsObject<SyncWorkerOptions>(OWNER, options);
  refuseUnknownOptions(OWNER, o, WORKER_OPTION_NAMES);
  refuseWorkerProvided(o);
  const logger = loggerOption(OWNER, o.logger) ?? quietLogger;
  if (o.trace !== undefined && typeof o.trace !== 'boolean') {
    throw new TypeError(`${OWNER}: trace must be a boolean`);
  }
  const breaker = provisionOf(o.breaker, CircuitBreaker);
  const tracker = provisionOf(o.latencyTracker, LatencyTracker);
  const handlers = handlersOption(o.handlers, o.backlog);
  const retry = retryPolicy(OWNER, o.retry);
  const countsAsFailure = optionalFunction<(error: Error) => boolean>(
    OWNER,
    'countsAsFailure',
    o.countsAsFailure,
  );
  const onDeadLetter = optionalFunction<WorkerSettings['onDeadLetter']>(
    OWNER,
    'onDeadLetter',
    o.onDeadLetter,
  );
  refuseIneffective(o);
  const shared = sharedWorkerSettings(o);
  return {
    maxQueue: positiveInteger(OWNER, 'maxQueue', o.maxQueue, 64, true),
    concurrency: positiveInteger(OWNER, 'concurrency', o.concurrency, 1, false, MAX_CONCURRENCY),
    name: nameOption(o.name),
    clock: clockOption(OWNER, o.clock) ?? systemClock,
    logger,
    countsAsFailure: countsAsFailure ?? countEverything,
    trace: o.trace === true,
    idleAfterMs: delayMs(OWNER, 'idleAfterMs', o.idleAfterMs, 1),
    inspect: guardedInspect(inspectOption<Inspect>(OWNER, o.inspect), (error) =>
      logger.error?.(`${OWNER}: the inspector threw; it is detached`, error),
    ),
    system: systemInput(breaker, o.breaker, tracker, o.backlog !== undefined),
    breaker: breaker === 'external' ? (o.breaker as CircuitBreaker) : undefined,
    tracker:
      tracker === 'external'
        ? (o.latencyTracker as LatencyTracker)
        : tracker === 'owned'
          ? latencySettings(`${OWNER}: latencyTracker`, o.latencyTracker)
          : undefined,
    durable:
      handlers === undefined
        ? undefined
        : { store: o.backlog as BacklogStore | SharedBacklogStore, handlers, retry },
    shared,
    onDeadLetter,
    health: healthSettings(`${OWNER}: health`, o.health),
  };
}

function provisionOf(
  value: unknown,
  External: abstract new (...args: never[]) => object,
): Provision {
  if (value === false) return 'none';
  return value instanceof External ? 'external' : 'owned';
}

function systemInput(
  breaker: Provision,
  breakerOptions: unknown,
  tracker: Provision,
  durable: boolean,
): SystemInput {
  const backlog = durable ? 'owned' : 'none';
  if (breaker !== 'owned') return { breaker, tracker, backlog };
  return {
    breaker,
    breakerInput: breakerSettings(`${OWNER}: breaker`, breakerOptions),
    tracker,
    backlog,
  };
}

function nameOption(name: unknown): string {
  if (name === undefined) return 'sync-worker';
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`${OWNER}: name must be a non-empty string`);
  }
  return name;
}
