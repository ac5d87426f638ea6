import type { CircuitBreaker } from '../CircuitBreaker.js';
import { optionNames, refuseUnknownOptions } from '../optionNames.js';
import { optionsObject } from '../validate.js';
import type { ClosureSource } from './closureSource.js';
import type { DurableSource } from './durableSource.js';
import type { LifecycleBridge } from './lifecycle.js';

/** The verdict of {@link SyncWorker.health}: `ok`, `degraded` (working, but not as it should), or `down` (cannot take work). */
export type HealthStatus = 'ok' | 'degraded' | 'down';

/**
 * One reason for a verdict other than `ok`, with the `status` it alone
 * would give. Tell them apart by `kind`; `message` says it in words.
 *
 * - `shuttingDown` (down): `shutdown()` was called; the worker accepts nothing new.
 * - `storeRefusing` (down): the durable store refused a commit within the
 *   last second, and new durable tasks are refused until space is freed.
 * - `breakerOpen` (degraded): the breaker is `open` or `half_open`: the
 *   remote is failing; closure tasks are refused, durable ones kept.
 * - `backlogStale` (degraded): the oldest pending durable task was enqueued
 *   longer ago than `backlogAgeMs`.
 * - `queueSaturated` (degraded): closure tasks waiting reached
 *   `queueSaturation × maxQueue`; the next ones push out the oldest.
 */
export type HealthReason =
  | { kind: 'shuttingDown'; status: 'down'; state: 'stopping' | 'shutdown'; message: string }
  | { kind: 'storeRefusing'; status: 'down'; location: string; message: string }
  | { kind: 'breakerOpen'; status: 'degraded'; state: 'open' | 'half_open'; message: string }
  | {
      kind: 'backlogStale';
      status: 'degraded';
      oldestAgeMs: number;
      thresholdMs: number;
      message: string;
    }
  | {
      kind: 'queueSaturated';
      status: 'degraded';
      queued: number;
      maxQueue: number;
      message: string;
    };

/** What {@link SyncWorker.health} returns: plain data, ready for `JSON.stringify`. */
export interface WorkerHealth {
  /** `down` if any reason is, else `degraded` if there is a reason, else `ok`. */
  status: HealthStatus;
  /** Every reason found, the `down` ones first; empty when `ok`. */
  reasons: HealthReason[];
}

/** Thresholds of the health verdict: the worker's `health` option, or per call of `health()`. */
export interface HealthOptions {
  /**
   * `backlogStale` when the oldest pending durable task was enqueued longer
   * ago than this, in wall-clock ms (records keep their enqueue time across
   * restarts). `Infinity` turns the check off. Default 60 000.
   */
  backlogAgeMs?: number;
  /**
   * `queueSaturated` when closure tasks waiting reach this fraction of
   * `maxQueue`, from just above 0 to 1. `Infinity` turns the check off. Default 1 (full).
   */
  queueSaturation?: number;
}

/** Health thresholds with every default filled in. */
export type HealthSettings = Required<HealthOptions>;

const DEFAULTS: HealthSettings = { backlogAgeMs: 60_000, queueSaturation: 1 };
/** Every field of {@link HealthOptions}; one line per field. */
const FIELDS = optionNames<HealthOptions>()(['backlogAgeMs', 'queueSaturation']);

/**
 * Validates health thresholds over `base` (the defaults, or the worker's own).
 *
 * @throws TypeError for a field that is not a number or is unknown; RangeError for a value out of range.
 */
export function healthSettings(
  owner: string,
  value: unknown,
  base: HealthSettings = DEFAULTS,
): HealthSettings {
  const o = optionsObject<HealthOptions>(owner, value);
  refuseUnknownOptions(owner, o, FIELDS);
  return {
    backlogAgeMs: threshold(owner, 'backlogAgeMs', o.backlogAgeMs, base.backlogAgeMs, 0),
    queueSaturation: threshold(owner, 'queueSaturation', o.queueSaturation, base.queueSaturation),
  };
}

/** A number in `[0, …)` (`low` 0) or `(0, 1]` (no `low`), or `Infinity` for "off". */
function threshold(
  owner: string,
  name: string,
  value: unknown,
  fallback: number,
  low?: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`${owner}: ${name} must be a number, got ${typeof value}`);
  }
  if (value === Number.POSITIVE_INFINITY) return value;
  const ok = low === undefined ? value > 0 && value <= 1 : value >= low && Number.isFinite(value);
  if (!ok) {
    const range = low === undefined ? 'greater than 0 and at most 1' : `a finite number ≥ ${low}`;
    throw new RangeError(`${owner}: ${name} must be ${range}, or Infinity, got ${value}`);
  }
  return value;
}

/** The parts a verdict is read from. */
export interface HealthSources {
  closures: ClosureSource;
  durable: DurableSource | undefined;
  lifecycle: LifecycleBridge;
  breaker: CircuitBreaker | undefined;
}

/**
 * The worker's verdict now, against its `settings`, or `options` over them
 * for this call; reading it changes nothing the worker decides on.
 */
export function workerHealth(
  parts: HealthSources,
  settings: HealthSettings,
  options?: HealthOptions,
): WorkerHealth {
  if (options !== undefined) settings = healthSettings('SyncWorker.health', options, settings);
  const reasons: HealthReason[] = [];
  const state = parts.lifecycle.state;
  if (state === 'stopping' || state === 'shutdown') {
    reasons.push({
      kind: 'shuttingDown',
      status: 'down',
      state,
      message: `the worker is ${state}`,
    });
  }
  // A worker that has shut down has released its store: there is nothing more to read from it.
  const durable = state === 'shutdown' ? undefined : parts.durable;
  const refusal = durable?.queue.refusal();
  if (refusal !== undefined) {
    reasons.push({
      kind: 'storeRefusing',
      status: 'down',
      location: refusal.location,
      message: refusal.message,
    });
  }
  const breaker = parts.breaker?.state;
  if (breaker === 'open' || breaker === 'half_open') {
    const message = `the circuit breaker is ${breaker}`;
    reasons.push({ kind: 'breakerOpen', status: 'degraded', state: breaker, message });
  }
  const stale = staleBacklog(durable, settings.backlogAgeMs);
  if (stale !== undefined) reasons.push(stale);
  const saturated = saturatedQueue(parts.closures, settings.queueSaturation);
  if (saturated !== undefined) reasons.push(saturated);
  return { status: statusOf(reasons), reasons };
}

function staleBacklog(
  durable: DurableSource | undefined,
  thresholdMs: number,
): HealthReason | undefined {
  if (durable === undefined || thresholdMs === Number.POSITIVE_INFINITY) return undefined;
  const oldestAgeMs = durable.oldestAgeMs();
  if (oldestAgeMs === undefined || oldestAgeMs <= thresholdMs) return undefined;
  const message = `the oldest pending durable task was enqueued ${Math.round(oldestAgeMs)} ms ago (threshold ${thresholdMs} ms)`;
  return { kind: 'backlogStale', status: 'degraded', oldestAgeMs, thresholdMs, message };
}

function saturatedQueue(closures: ClosureSource, saturation: number): HealthReason | undefined {
  const { maxQueue, waiting } = closures;
  if (waiting === 0 || waiting < saturation * maxQueue) return undefined;
  const message = `${waiting} closure tasks wait, of at most ${maxQueue}`;
  return { kind: 'queueSaturated', status: 'degraded', queued: waiting, maxQueue, message };
}

function statusOf(reasons: readonly HealthReason[]): HealthStatus {
  if (reasons.length === 0) return 'ok';
  return reasons.some((reason) => reason.status === 'down') ? 'down' : 'degraded';
}
