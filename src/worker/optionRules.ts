import { CircuitBreaker, WORKER_PROVIDED_BREAKER_OPTIONS } from '../CircuitBreaker.js';
import { LatencyTracker } from '../LatencyTracker.js';
import { optionNames } from '../optionNames.js';
import type { SyncWorkerOptions } from './types.js';

const OWNER = 'SyncWorker';

/**
 * Every option of {@link SyncWorkerOptions}. A name missing here fails to
 * compile; a name given to the worker and not here is refused. One line per option.
 */
export const WORKER_OPTION_NAMES = optionNames<SyncWorkerOptions>()([
  'maxQueue',
  'concurrency',
  'latencyTracker',
  'breaker',
  'name',
  'clock',
  'inspect',
  'countsAsFailure',
  'logger',
  'trace',
  'handlers',
  'backlog',
  'retry',
  'onDeadLetter',
  'idleAfterMs',
  'health',
  'unavailableMs',
  'leaseMs',
  'producerOnly',
]);

/** Whether `value` is options for a part the worker builds (not a part the user built, nor `false`). */
function isOptionsFor(value: unknown, Built: abstract new (...args: never[]) => object): boolean {
  return value !== null && typeof value === 'object' && !(value instanceof Built);
}

/**
 * Refuses what the worker takes from itself, not from the options of the
 * breaker and tracker it builds: their clock, inspector and logger are the
 * worker's. Run before those options are read, so the message says why.
 *
 * @throws TypeError naming the option and where it belongs.
 */
export function refuseWorkerProvided(o: Partial<SyncWorkerOptions>): void {
  if (isOptionsFor(o.breaker, CircuitBreaker)) {
    const breaker = o.breaker as Record<string, unknown>;
    for (const name of WORKER_PROVIDED_BREAKER_OPTIONS) {
      if (breaker[name] === undefined) continue;
      throw new TypeError(
        `${OWNER}: breaker: ${name} does nothing here: the breaker a worker builds uses the worker's ${name}; set it on the worker, or pass a CircuitBreaker you built`,
      );
    }
  }
  if (isOptionsFor(o.latencyTracker, LatencyTracker)) {
    if ((o.latencyTracker as Record<string, unknown>).inspect !== undefined) {
      throw new TypeError(
        `${OWNER}: latencyTracker: inspect does nothing here: the worker's own inspect sees the tracker it builds; set it on the worker, or pass a LatencyTracker you built`,
      );
    }
  }
}

/**
 * Refuses options that are valid but would do nothing with the others given:
 * silently ignoring them would hide a set-up that is not what its author meant.
 * Run after every value is checked, so a bad value gets its own message first.
 *
 * @throws TypeError naming the option and why it does nothing.
 */
export function refuseIneffective(o: Partial<SyncWorkerOptions>): void {
  if (o.backlog === undefined) {
    for (const name of ['retry', 'onDeadLetter'] as const) {
      if (o[name] === undefined) continue;
      throw new TypeError(
        `${OWNER}: ${name} does nothing without a backlog: it applies to durable tasks, which need the backlog and handlers options`,
      );
    }
  }
  if (o.breaker === false && o.countsAsFailure !== undefined) {
    throw new TypeError(
      `${OWNER}: countsAsFailure does nothing with breaker: false: it decides which errors count against the breaker`,
    );
  }
}
