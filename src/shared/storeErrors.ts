import { BacklogError } from '../errors/BacklogError.js';
import { BacklogUnavailableError } from '../errors/BacklogUnavailableError.js';

/** Node socket errors that mean the server was not reached or the connection broke. */
export const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * The typed error for a shared store's failed operation `what`: a
 * `BacklogUnavailableError` when `unreachable` says the server could not be
 * reached (the worker waits that out), another `BacklogError` otherwise.
 * Each store says what "unreachable" looks like in its client's errors.
 */
export function sharedStoreError(
  location: string,
  what: string,
  error: unknown,
  unreachable: (error: unknown) => boolean,
): BacklogError {
  if (error instanceof BacklogError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (unreachable(error)) {
    return new BacklogUnavailableError(
      location,
      `backlog ${location} is unreachable (${what}): ${message}`,
      { cause: error },
    );
  }
  return new BacklogError(location, `backlog ${location}: ${what} failed: ${message}`, {
    cause: error,
  });
}
