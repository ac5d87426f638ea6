import type { BreakerInput } from '../machines/breaker.machine.js';
import { type BreakerSnapshot, breakerSnapshotOption, breakerStart } from './breakerSnapshot.js';
import type { Clock } from './clock.js';
import type { Inspect } from './inspect.js';
import type { Logger } from './logger.js';
import { optionNames, refuseUnknownOptions } from './optionNames.js';
import { delayMs, optionsObject, positiveInteger } from './validate.js';

/** Options of {@link CircuitBreaker}. Every time is in milliseconds on the breaker's clock. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 3. */
  failureThreshold?: number;
  /** How long the breaker stays open before it lets one probe through. Default 60 000. */
  probeIntervalMs?: number;
  /**
   * How long a half-open probe permit may go unreported before it counts as a
   * failed probe. Default 30 000; a `SyncWorker` uses its current task timeout.
   */
  probeTimeoutMs?: number;
  /**
   * Where to start: what `toJSON()` gave, for a breaker kept across a
   * restart. An `open` one stays open for what is left of its
   * `probeIntervalMs` by the wall clock (at most one interval), or starts
   * `half_open` when that is over. Default: `closed`, no failures.
   */
  initialState?: BreakerSnapshot;
  /** The time source, e.g. XState's `SimulatedClock` in tests. Default: `performance.now` and unref'd timers. */
  clock?: Clock;
  /** An XState inspector for this breaker's actor. */
  inspect?: Inspect;
  /** Receives state changes and swallowed listener errors. Default: quiet. */
  logger?: Logger;
}

/** Options a breaker built by a `SyncWorker` takes from the worker, not from its own options. */
export const WORKER_PROVIDED_BREAKER_OPTIONS = ['clock', 'inspect', 'logger'] as const;

/** The options a breaker's machine takes: all that a worker's own breaker accepts. One line per option. */
const SETTING_NAMES = optionNames<
  Omit<CircuitBreakerOptions, (typeof WORKER_PROVIDED_BREAKER_OPTIONS)[number]>
>()(['failureThreshold', 'probeIntervalMs', 'probeTimeoutMs', 'initialState']);

/** Every option of {@link CircuitBreakerOptions}. */
const OPTION_NAMES = [...SETTING_NAMES, ...WORKER_PROVIDED_BREAKER_OPTIONS];

/**
 * The settings of a breaker, validated, as its machine takes them; an
 * `initialState` becomes the machine's `start` as of `now` (wall-clock ms).
 * `standalone`: the options of `new CircuitBreaker`, which may also hold the
 * clock, inspector and logger; otherwise those of a worker's own breaker.
 *
 * @throws TypeError or RangeError naming the option, or an option no breaker reads.
 */
export function breakerSettings(
  owner: string,
  options: unknown,
  standalone = false,
  now = Date.now(),
): BreakerInput {
  const o = optionsObject<CircuitBreakerOptions>(owner, options);
  refuseUnknownOptions(owner, o, standalone ? OPTION_NAMES : SETTING_NAMES);
  const probeIntervalMs = delayMs(owner, 'probeIntervalMs', o.probeIntervalMs, 60_000);
  const start = breakerStart(breakerSnapshotOption(owner, o.initialState), probeIntervalMs, now);
  return {
    failureThreshold: positiveInteger(owner, 'failureThreshold', o.failureThreshold, 3),
    probeIntervalMs,
    probeTimeoutMs: delayMs(owner, 'probeTimeoutMs', o.probeTimeoutMs, 30_000, false),
    ...(start === undefined ? {} : { start }),
  };
}
