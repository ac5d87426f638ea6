import { plainJsonText } from './backlog/json.js';
import { closestName, refuseUnknownOptions } from './optionNames.js';
import type { SyncTask } from './task.js';

const OWNER = 'SyncWorker.enqueue';
/** The fields of a durable task: it is data, so anything else is a slip (checked off the closure hot path). */
const DURABLE_FIELDS = ['handler', 'payload', 'key', 'id'];
/** Longest `key` or `id`: they become part of a store key, which LMDB limits to about 2 KB. */
export const MAX_KEY_LENGTH = 256;

/**
 * Which kind of task `task` is, throwing a TypeError naming the field when it
 * is neither a usable closure task (`run`) nor a durable one (`handler`).
 */
export function taskKind(task: unknown): 'closure' | 'durable' {
  if (task === null || typeof task !== 'object') {
    throw new TypeError(`${OWNER}: task must be an object with run() or a handler name`);
  }
  const t = task as { run?: unknown; handler?: unknown };
  const hasRun = t.run !== undefined;
  const hasHandler = t.handler !== undefined;
  if (hasRun !== hasHandler) return hasRun ? 'closure' : 'durable';
  throw new TypeError(
    hasRun
      ? `${OWNER}: a task has run() (a closure task) or handler (a durable task), not both`
      : `${OWNER}: a task needs run() (a closure task) or handler (a durable task)`,
  );
}

/**
 * Whether `task` is a closure task that {@link validateTask} accepts, with
 * no error built: `enqueue`'s one test on its hot path. Anything else goes
 * through {@link taskKind} and the validators, which say what is wrong.
 */
export function isClosureTask(task: unknown): task is SyncTask {
  if (task === null || typeof task !== 'object') return false;
  const t = task as SyncTask & { handler?: unknown };
  const key = t.key;
  return (
    typeof t.run === 'function' &&
    t.handler === undefined &&
    (t.name === undefined || typeof t.name === 'string') &&
    (t.onSuccess === undefined || typeof t.onSuccess === 'function') &&
    (t.onFailure === undefined || typeof t.onFailure === 'function') &&
    (key === undefined ||
      (typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH))
  );
}

/** Throws a TypeError naming the field when `task` is not a usable {@link SyncTask}. */
export function validateTask(task: unknown): asserts task is SyncTask {
  // Literal property reads: this runs on every enqueue, and a computed read costs 20× more.
  const t = task as SyncTask;
  if (typeof t.run !== 'function') throw new TypeError(`${OWNER}: task.run must be a function`);
  if (t.name !== undefined && typeof t.name !== 'string') {
    throw new TypeError(`${OWNER}: task.name must be a string`);
  }
  if (t.onSuccess !== undefined && typeof t.onSuccess !== 'function') {
    throw new TypeError(`${OWNER}: task.onSuccess must be a function`);
  }
  if (t.onFailure !== undefined && typeof t.onFailure !== 'function') {
    throw new TypeError(`${OWNER}: task.onFailure must be a function`);
  }
  if (t.key !== undefined) optionalName(t as unknown as Record<string, unknown>, 'key');
}

function optionalName(t: Record<string, unknown>, name: 'key' | 'id'): void {
  const value = t[name];
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new TypeError(
      `${OWNER}: task.${name} must be a string of 1 to ${MAX_KEY_LENGTH} characters`,
    );
  }
}

/**
 * Throws a TypeError naming the field when `task` is not a durable task this
 * worker can keep: a registered handler, plain JSON payload, string key and id.
 * Returns the payload's JSON text, made while checking it: the only time a
 * durable payload is serialized (see {@link plainJsonText}).
 */
export function validateDurableTask(
  task: unknown,
  handlers: Readonly<Record<string, unknown>> | undefined,
): string {
  if (handlers === undefined) {
    throw new TypeError(`${OWNER}: durable tasks need the worker's handlers and backlog options`);
  }
  const t = task as Record<string, unknown>;
  if (typeof t.handler !== 'string' || !Object.hasOwn(handlers, t.handler)) {
    const known = Object.keys(handlers);
    const near = typeof t.handler === 'string' ? closestName(t.handler, known) : undefined;
    const hint = near === undefined ? '' : ` (did you mean "${near}"?)`;
    throw new TypeError(
      `${OWNER}: unknown handler ${JSON.stringify(t.handler)}${hint}; registered: ${known.join(', ')}`,
    );
  }
  if (!('payload' in t))
    throw new TypeError(`${OWNER}: task.payload is required (use null for none)`);
  const payloadJson = plainJsonText(t.payload, 'payload', OWNER);
  optionalName(t, 'key');
  optionalName(t, 'id');
  for (const callback of ['onSuccess', 'onFailure', 'name'] as const) {
    if (t[callback] !== undefined) {
      throw new TypeError(
        `${OWNER}: a durable task is data and cannot carry ${callback}; listen to the worker's events instead`,
      );
    }
  }
  refuseUnknownOptions(`${OWNER}: task`, t, DURABLE_FIELDS, 'field');
  return payloadJson;
}
