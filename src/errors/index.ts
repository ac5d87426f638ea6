export { BacklogError } from './BacklogError.js';
export { BacklogFullError } from './BacklogFullError.js';
export { BacklogLockedError } from './BacklogLockedError.js';
export { BreakerOpenError } from './BreakerOpenError.js';
export { NonRetryableError } from './NonRetryableError.js';
export { QueueOverflowError } from './QueueOverflowError.js';
export { createCheapError, SyncWorkerError } from './SyncWorkerError.js';
export { TaskTimeoutError } from './TaskTimeoutError.js';
export { WorkerShutdownError } from './WorkerShutdownError.js';
