import type { BreakerStart, BreakerState } from '../machines/breaker.machine.js';

/**
 * A breaker's state as plain JSON, for keeping it across a restart:
 * `CircuitBreaker.toJSON()` gives it, the `initialState` option takes it
 * back, and a worker with a backlog keeps its own breaker's in the store.
 * Times are wall-clock, since the process that reads it has another
 * monotonic clock.
 */
export interface BreakerSnapshot {
  state: BreakerState;
  /** The failure streak. */
  consecutiveFailures: number;
  /** Wall-clock ms (`Date.now()`) when the breaker last opened. Required for `open`. */
  openedAt?: number;
}

const STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];
const FIELDS = ['state', 'consecutiveFailures', 'openedAt'];

/**
 * Checks a {@link BreakerSnapshot} given as `initialState` (or read back
 * from a store): an object with a known `state`, a whole `consecutiveFailures`
 * ≥ 0 and, for `open`, a finite `openedAt`. Unknown fields are refused.
 *
 * @throws TypeError or RangeError naming `initialState` and the field.
 */
export function breakerSnapshotOption(owner: string, value: unknown): BreakerSnapshot | undefined {
  if (value === undefined) return undefined;
  const where = `${owner}: initialState`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object such as breaker.toJSON() gives`);
  }
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).filter((field) => !FIELDS.includes(field));
  if (unknown.length > 0) {
    throw new TypeError(
      `${where} has unknown field(s) ${unknown.join(', ')}; known: ${FIELDS.join(', ')}`,
    );
  }
  if (!STATES.includes(o.state as BreakerState)) {
    throw new TypeError(`${where}.state must be one of ${STATES.join(', ')}`);
  }
  const failures = o.consecutiveFailures;
  if (typeof failures !== 'number' || !Number.isSafeInteger(failures) || failures < 0) {
    throw new RangeError(`${where}.consecutiveFailures must be a whole number ≥ 0`);
  }
  const state = o.state as BreakerState;
  if (o.openedAt !== undefined || state === 'open') {
    if (typeof o.openedAt !== 'number' || !Number.isFinite(o.openedAt)) {
      throw new TypeError(`${where}.openedAt must be wall-clock milliseconds (Date.now())`);
    }
  }
  return o.openedAt === undefined
    ? { state, consecutiveFailures: failures }
    : { state, consecutiveFailures: failures, openedAt: o.openedAt as number };
}

/**
 * Where a breaker resumes from `snapshot`, `now` being wall-clock ms. An
 * open period goes on for what is left of it on this clock: the remaining
 * `probeIntervalMs − (now − openedAt)`, clamped to `[0, probeIntervalMs]`,
 * so a clock that went back never makes it longer than one interval. An
 * open period already over resumes `half_open`, ready for its probe at once.
 */
export function breakerStart(
  snapshot: BreakerSnapshot | undefined,
  probeIntervalMs: number,
  now: number,
): BreakerStart | undefined {
  if (snapshot === undefined) return undefined;
  const { state, consecutiveFailures } = snapshot;
  if (state !== 'open') return { state, consecutiveFailures };
  const elapsed = now - (snapshot.openedAt as number);
  const openForMs = Math.min(probeIntervalMs, Math.max(0, probeIntervalMs - elapsed));
  if (openForMs === 0) return { state: 'half_open', consecutiveFailures };
  return { state: 'open', consecutiveFailures, openForMs };
}
