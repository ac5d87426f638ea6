import type { Clock } from './clock.js';
import { LOG_LEVELS, type Logger, neverThrowing } from './logger.js';

/** The largest delay a timer honours: a larger `setTimeout` fires after about 1 ms. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

// Every check names its owner and option, so a bad value is found from the message alone.
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function requireNumber(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${owner}: ${name} must be a number, got ${describe(value)}`);
  }
  if (Number.isNaN(value)) throw new RangeError(`${owner}: ${name} must not be NaN`);
  return value;
}

/** An integer ≥ 1 and ≤ `max`; `allowInfinity` admits `Infinity` for "unbounded". */
export function positiveInteger(
  owner: string,
  name: string,
  value: unknown,
  fallback: number,
  allowInfinity = false,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = requireNumber(owner, name, value);
  if (allowInfinity && n === Number.POSITIVE_INFINITY) return n;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    const upTo = max === Number.MAX_SAFE_INTEGER ? '' : ` up to ${max}`;
    const what = allowInfinity ? `an integer ≥ 1${upTo}, or Infinity` : `an integer ≥ 1${upTo}`;
    throw new RangeError(`${owner}: ${name} must be ${what}, got ${describe(n)}`);
  }
  return n;
}

/** A finite number > 0. */
export function positiveNumber(owner: string, name: string, value: unknown, fallback: number) {
  if (value === undefined) return fallback;
  const n = requireNumber(owner, name, value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(`${owner}: ${name} must be a finite number > 0, got ${describe(n)}`);
  }
  return n;
}

/** A delay in milliseconds that a timer can honour: 0 (when `allowZero`) or more, at most 2³¹−1. */
export function delayMs(
  owner: string,
  name: string,
  value: unknown,
  fallback: number,
  allowZero = true,
): number {
  if (value === undefined) return fallback;
  const n = requireNumber(owner, name, value);
  const low = allowZero ? 0 : Number.MIN_VALUE;
  if (!(n >= low && n <= MAX_DELAY_MS)) {
    const range = allowZero ? 'from 0' : 'greater than 0';
    throw new RangeError(
      `${owner}: ${name} must be a delay in ms ${range} to ${MAX_DELAY_MS} (2^31-1), got ${describe(n)}`,
    );
  }
  return n;
}

/** A function, or undefined. */
export function optionalFunction<F>(owner: string, name: string, value: unknown): F | undefined {
  if (value === undefined || typeof value === 'function') return value as F | undefined;
  throw new TypeError(`${owner}: ${name} must be a function, got ${describe(value)}`);
}

/** An options object, or undefined (treated as `{}`). */
export function optionsObject<O extends object>(owner: string, value: unknown): Partial<O> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${owner}: options must be an object, got ${describe(value)}`);
  }
  return value as Partial<O>;
}

/** A clock with `now`, `setTimeout` and `clearTimeout`, such as XState's `SimulatedClock`. */
export function clockOption(owner: string, value: unknown): Clock | undefined {
  if (value === undefined) return undefined;
  const clock = value as Partial<Clock> | null;
  const complete =
    clock !== null &&
    typeof clock === 'object' &&
    typeof clock.now === 'function' &&
    typeof clock.setTimeout === 'function' &&
    typeof clock.clearTimeout === 'function';
  if (!complete) {
    throw new TypeError(`${owner}: clock must have now(), setTimeout() and clearTimeout()`);
  }
  return clock as Clock;
}

/**
 * A logger-like object: any of debug/info/warn/error, each a function if
 * present. Returned wrapped so that none of its methods can throw.
 */
export function loggerOption(owner: string, value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`${owner}: logger must be a console-compatible object`);
  }
  for (const level of LOG_LEVELS) {
    const write = (value as Record<string, unknown>)[level];
    if (write !== undefined && typeof write !== 'function') {
      throw new TypeError(`${owner}: logger.${level} must be a function, got ${describe(write)}`);
    }
  }
  return neverThrowing(value as Logger);
}

/** An XState inspector: a function, or an observer with `next`. */
export function inspectOption<I>(owner: string, value: unknown): I | undefined {
  if (value === undefined || typeof value === 'function') return value as I | undefined;
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { next?: unknown }).next === 'function'
  ) {
    return value as I;
  }
  throw new TypeError(
    `${owner}: inspect must be an inspector function or an observer with next(), got ${describe(value)}`,
  );
}
