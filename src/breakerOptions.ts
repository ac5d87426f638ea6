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
>()(['failureThreshold', 'probeIntervalMs', 'probeTimeoutMs']);

/** Every option of {@link CircuitBreakerOptions}. */
const OPTION_NAMES = [...SETTING_NAMES, ...WORKER_PROVIDED_BREAKER_OPTIONS];

/**
 * The settings of a breaker, validated, as its machine takes them.
 * `standalone`: the options of `new CircuitBreaker`, which may also hold the
 * clock, inspector and logger; otherwise those of a worker's own breaker.
 *
 * @throws TypeError naming an option no breaker reads.
 */
export function breakerSettings(owner: string, options: unknown, standalone = false) {
  const o = optionsObject<CircuitBreakerOptions>(owner, options);
  refuseUnknownOptions(owner, o, standalone ? OPTION_NAMES : SETTING_NAMES);
  return {
    failureThreshold: positiveInteger(owner, 'failureThreshold', o.failureThreshold, 3),
    probeIntervalMs: delayMs(owner, 'probeIntervalMs', o.probeIntervalMs, 60_000),
    probeTimeoutMs: delayMs(owner, 'probeTimeoutMs', o.probeTimeoutMs, 30_000, false),
  };
}
