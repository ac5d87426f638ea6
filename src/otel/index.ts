/**
 * `xstate-sync-worker/otel`: a worker's metrics through OpenTelemetry.
 * Needs the optional peer dependency `@opentelemetry/api` (1.9 or later 1.x)
 * for its types, and a Meter from an SDK to report anything.
 *
 * @packageDocumentation
 */
export { OTHER_TASK_NAME } from '../worker/fateTally.js';
export { ATTR as SYNC_WORKER_ATTRIBUTES, MAX_ERROR_TYPES } from './attributes.js';
export {
  DEFAULT_MAX_NAMES,
  type InstrumentOptions,
  instrument,
  MAX_NAMES,
  type SyncWorkerInstrumentation,
} from './instrument.js';
export { RUN_DURATION_BUCKETS, SYNC_WORKER_METRICS } from './instruments.js';
