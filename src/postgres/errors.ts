import type { BacklogError } from '../errors/BacklogError.js';
import { NETWORK_CODES, sharedStoreError } from '../shared/storeErrors.js';

/**
 * SQLSTATEs that mean "the server cannot serve now" rather than "this
 * request is wrong": connection exceptions (class 08), shutdown and start-up
 * (57P01-57P03), too many connections (53300), and a standby in recovery (25006
 * read-only transaction after a failover).
 */
function isOutage(code: string): boolean {
  return code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '25006'].includes(code);
}

/** Whether `error`, from pg, means the server could not be reached. */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || isOutage(code))) return true;
  // pg's own messages for a connection that ended under a query or never opened.
  return /Connection terminated|connection timeout|Query read timeout|Client has encountered a connection error|not queryable/i.test(
    error.message,
  );
}

/** The typed error for a failed operation: unavailable, or another backlog error. */
export function storeError(location: string, what: string, error: unknown): BacklogError {
  return sharedStoreError(location, what, error, isUnreachable);
}
