import { NonRetryableError } from '../errors/NonRetryableError.js';
import { optionNames, refuseUnknownOptions } from '../optionNames.js';
import { delayMs, optionalFunction, optionsObject, positiveInteger } from '../validate.js';

/** How durable tasks are retried: exponential backoff with full jitter. */
export interface RetryOptions {
  /** Handler runs before a task goes to the dead letters, not counting failures that left the breaker open (the remote's). Default 5. */
  maxAttempts?: number;
  /** The backoff's base in ms: attempt n waits a random time in [0, min(maxMs, baseMs·2ⁿ⁻¹)). Default 100. */
  baseMs?: number;
  /** The backoff's ceiling in ms. Default 30 000. */
  maxMs?: number;
  /** Whether an error may be retried. Default: all but a {@link NonRetryableError}. */
  isRetryable?: (error: Error) => boolean;
  /**
   * With a shared backlog: claims of a task that may end by lease expiry with
   * no outcome reported (its worker died, hung or was paused) before the next
   * claim buries it instead of running it. Default 3.
   */
  maxLostLeases?: number;
}

/** Validated retry settings. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly isRetryable: (error: Error) => boolean;
  readonly maxLostLeases: number;
  /** A source in [0, 1), for the jitter. */
  readonly random: () => number;
}

/** Every option of {@link RetryOptions}; one line per option. */
const OPTION_NAMES = optionNames<RetryOptions>()([
  'maxAttempts',
  'baseMs',
  'maxMs',
  'isRetryable',
  'maxLostLeases',
]);

const notNonRetryable = (error: Error) => !(error instanceof NonRetryableError);

/** Reads `retry` options, throwing a `TypeError` or `RangeError` that names the bad one. */
export function retryPolicy(owner: string, options: unknown, random = Math.random): RetryPolicy {
  const o = optionsObject<RetryOptions>(`${owner}: retry`, options);
  refuseUnknownOptions(`${owner}: retry`, o, OPTION_NAMES);
  const baseMs = delayMs(owner, 'retry.baseMs', o.baseMs, 100, false);
  const maxMs = delayMs(owner, 'retry.maxMs', o.maxMs, Math.max(30_000, baseMs), false);
  if (maxMs < baseMs) {
    throw new RangeError(
      `${owner}: retry.maxMs (${maxMs}) must be at least retry.baseMs (${baseMs})`,
    );
  }
  return {
    maxAttempts: positiveInteger(owner, 'retry.maxAttempts', o.maxAttempts, 5),
    baseMs,
    maxMs,
    isRetryable:
      optionalFunction<(error: Error) => boolean>(owner, 'retry.isRetryable', o.isRetryable) ??
      notNonRetryable,
    maxLostLeases: positiveInteger(owner, 'retry.maxLostLeases', o.maxLostLeases, 3),
    random,
  };
}

/** The wait before the next attempt, after `attempts` runs: full jitter over an exponential ceiling. */
export function backoffMs(policy: RetryPolicy, attempts: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return policy.random() * ceiling;
}
