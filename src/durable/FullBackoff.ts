import type { Clock } from '../clock.js';
import { BacklogFullError } from '../errors/BacklogFullError.js';

/** How long new durable tasks are refused after the store refused a commit, unless space is freed sooner. */
export const FULL_BACKOFF_MS = 1_000;

/**
 * After the store refused a commit, new durable tasks are refused with the
 * same error for {@link FULL_BACKOFF_MS}, or until a delivery frees space:
 * accepting them would only fail them a moment later.
 */
export class FullBackoff {
  private error: BacklogFullError | undefined;
  private until = Number.NEGATIVE_INFINITY;

  constructor(private readonly clock: Clock) {}

  /** The store at `location` refused a commit of `count` tasks (`cause`): returns their error. */
  refused(location: string, count: number, cause: unknown): BacklogFullError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const error = new BacklogFullError(
      location,
      `backlog ${location} could not keep ${count} task(s): ${reason}`,
      { cause },
    );
    this.error = error;
    this.until = this.clock.now() + FULL_BACKOFF_MS;
    return error;
  }

  /** A delivery freed space. */
  spaceFreed(): void {
    this.error = undefined;
  }

  /** Why a new task cannot be kept now, if it cannot. */
  refusal(): BacklogFullError | undefined {
    if (this.error === undefined) return undefined;
    if (this.clock.now() < this.until) return this.error;
    this.error = undefined;
    return undefined;
  }
}
