import { randomId } from '../durable/randomId.js';
import { BacklogError } from '../errors/BacklogError.js';
import type { SharedOpenOptions } from './types.js';

/** The owner id of a new session: the one given, or a random one. */
export function sessionOwner(options: SharedOpenOptions): string {
  if (options.owner !== undefined && (typeof options.owner !== 'string' || options.owner === '')) {
    throw new TypeError('open: "owner" must be a non-empty string');
  }
  if (options.role !== undefined && options.role !== 'worker' && options.role !== 'producer') {
    throw new TypeError(`open: "role" must be "worker" or "producer", not ${String(options.role)}`);
  }
  return options.owner ?? `worker-${randomId()}`;
}

/** The error a producer session's `claim` rejects with. */
export function producerRefusal(location: string, owner: string): BacklogError {
  return new BacklogError(
    location,
    `backlog ${location}: session ${owner} was opened as a producer, which only appends; open it with role "worker" to claim`,
  );
}
