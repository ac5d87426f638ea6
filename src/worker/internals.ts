import type { WorkerParts } from './collaborators.js';

// Keyed by the worker, so the parts stay as private as its `#` fields: only
// modules of this package that import this one (the OpenTelemetry
// instrumentation) can reach them, and nothing is kept after the worker goes.
const partsByWorker = new WeakMap<object, WorkerParts>();

/** Lets this package's own modules reach a worker's parts; called once, by its constructor. */
export function registerParts(worker: object, parts: WorkerParts): void {
  partsByWorker.set(worker, parts);
}

/** The parts of a worker built by this copy of the package, or `undefined` for anything else. */
export function partsOf(worker: unknown): WorkerParts | undefined {
  return typeof worker === 'object' && worker !== null ? partsByWorker.get(worker) : undefined;
}
