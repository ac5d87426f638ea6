import type { BacklogError } from '../errors/BacklogError.js';
import { NETWORK_CODES, sharedStoreError } from '../shared/storeErrors.js';

/**
 * Replies that mean "this server cannot serve now" rather than "this request
 * is wrong": loading its data after a restart, a replica after a failover
 * (READONLY), a primary whose link is down, a script running too long.
 */
const OUTAGE_REPLIES = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN)\b/;

/** ioredis's own messages for a connection that is closed, closing or was never opened. */
const CLIENT_MESSAGES =
  /Connection is closed|Reached the max retries per request|Stream isn't writeable|enableOfflineQueue|Command timed out|connect ETIMEDOUT/i;

/** Whether `error`, from ioredis, means the server could not be reached. */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return OUTAGE_REPLIES.test(error.message) || CLIENT_MESSAGES.test(error.message);
}

/** The typed error for a failed operation: unavailable, or another backlog error. */
export function storeError(location: string, what: string, error: unknown): BacklogError {
  return sharedStoreError(location, what, error, isUnreachable);
}
