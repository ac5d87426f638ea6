export { BreakerOpenError } from './BreakerOpenError.js';
export { QueueOverflowError } from './QueueOverflowError.js';
export { createCheapError, SyncWorkerError } from './SyncWorkerError.js';
export { TaskTimeoutError } from './TaskTimeoutError.js';
export { WorkerShutdownError } from './WorkerShutdownError.js';
