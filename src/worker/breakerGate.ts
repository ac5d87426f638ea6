import { type CircuitBreaker, generationOf } from '../CircuitBreaker.js';
import type { Logger } from '../logger.js';

const OWNER = 'SyncWorker';

/** What the gate answers when asked to admit the next task. */
export type Admission = 'admitted' | 'open' | 'busy';

/**
 * The worker's side of the breaker: it takes the permit for each task and
 * reports each outcome, unless the breaker moved on since the task began (an
 * outcome from an earlier state must not move it). Without a breaker every
 * task is admitted and nothing is reported.
 */
export class BreakerGate {
  /** The breaker's generation when the last admitted task began; the runner copies it per run. */
  admittedGeneration = 0;

  constructor(
    private readonly breaker: CircuitBreaker | undefined,
    private readonly countsAsFailure: (error: Error) => boolean,
    private readonly logger: Logger,
  ) {}

  /** Whether the breaker refuses every call now. */
  get isOpen(): boolean {
    return this.breaker?.isOpen === true;
  }

  /** Whether the next task would be the breaker's one half-open probe. */
  get probing(): boolean {
    return this.breaker?.state === 'half_open';
  }

  /**
   * Takes the permit for a task whose run may last `timeoutMs` (a probe's
   * permit lasts as long as its run may). `open`: the breaker refuses all;
   * `busy`: it is half-open and its one probe is out.
   */
  admit(timeoutMs: number): Admission {
    const breaker = this.breaker;
    if (breaker === undefined) return 'admitted';
    if (breaker.allow(timeoutMs)) {
      this.admittedGeneration = generationOf(breaker);
      return 'admitted';
    }
    return breaker.isOpen ? 'open' : 'busy';
  }

  /** Reports a success of a run admitted at `generation`. */
  succeeded(generation: number): void {
    if (this.isCurrent(generation)) this.breaker?.recordSuccess();
  }

  /** Reports a failure of a run admitted at `generation`; an excluded error counts as a success. */
  failed(error: Error, generation: number): void {
    const breaker = this.breaker;
    if (breaker === undefined || !this.isCurrent(generation)) return;
    // An excluded error means the remote answered: for the breaker, that is a success.
    if (this.counts(error)) breaker.recordFailure();
    else breaker.recordSuccess();
  }

  private counts(error: Error): boolean {
    try {
      return this.countsAsFailure(error) !== false;
    } catch (thrown) {
      this.logger.error?.(
        `${OWNER}: countsAsFailure threw; counting the error as a failure`,
        thrown,
      );
      return true;
    }
  }

  private isCurrent(generation: number): boolean {
    return this.breaker !== undefined && generationOf(this.breaker) === generation;
  }
}
