import type { Clock } from '../clock.js';
import { BacklogUnavailableError } from '../errors/BacklogUnavailableError.js';
import type { Logger } from '../logger.js';
import type { HeldKey } from './heldKeys.js';

/** Waits between tries of a lease operation the store did not answer. */
const RETRY_MS = 200;

/** What lease operations tell the queue. */
export interface LeaseOpsHost {
  /** The store answered. */
  answered(): void;
  /** The store could not be reached. */
  unreachable(error: BacklogUnavailableError): void;
  /** A lease this worker held was lost: another worker may run its key now. */
  lost(held: HeldKey, what: string): void;
  /** Every operation queued has ended. */
  opsSettled(): void;
  /** Whether the worker has closed (operations still unanswered then are given up). */
  readonly closed: boolean;
}

/**
 * Runs the operations of each held lease one after another (an ack that
 * releases must not overtake an earlier ack of the same lease), trying again
 * while the store is unreachable and the lease may still be current, and
 * telling the queue when the store says the lease is gone.
 */
export class LeaseOps {
  /** Operations queued and not yet ended. */
  inFlight = 0;

  constructor(
    private readonly host: LeaseOpsHost,
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {}

  /** Queues `op` on `held`'s lease; `what` names it in messages. */
  run(held: HeldKey, what: string, op: () => Promise<boolean>): void {
    this.inFlight++;
    held.chain = held.chain
      .then(() => this.attempt(held, what, op))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) this.host.opsSettled();
      });
  }

  /** Resolves once every operation queued on these leases has ended. */
  async settled(held: readonly HeldKey[]): Promise<void> {
    await Promise.all(held.map((h) => h.chain));
  }

  private async attempt(held: HeldKey, what: string, op: () => Promise<boolean>): Promise<void> {
    for (;;) {
      try {
        const took = await op();
        this.host.answered();
        if (!took) this.host.lost(held, what);
        return;
      } catch (error) {
        if (!(error instanceof BacklogUnavailableError)) {
          this.logger.error?.(`SyncWorker: the shared backlog's ${what} failed`, error);
          this.host.lost(held, what);
          return;
        }
        this.host.unreachable(error);
        // Past the lease, trying again cannot take effect: the key is another worker's to claim.
        if (this.host.closed || this.clock.now() - held.confirmedAt > this.leaseMs) {
          this.host.lost(held, what);
          return;
        }
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, RETRY_MS));
      }
    }
  }
}
