import type { Clock } from '../clock.js';
import type { Lane } from './Lane.js';

/**
 * The keys waiting out a retry backoff, and one timer on the worker's clock
 * for the earliest of them. When it fires, the keys that are due go back to
 * `idle` and are handed to `onDue`.
 */
export class RetryTimer {
  private readonly waiting: Lane[] = [];
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (lanes: readonly Lane[]) => void,
  ) {}

  /** How many keys wait. */
  get size(): number {
    return this.waiting.length;
  }

  /** Puts `lane` in backoff until `at` (on the clock; `now` is its current time). */
  wait(lane: Lane, at: number, now: number): void {
    lane.state = 'backoff';
    lane.retryAt = at;
    this.waiting.push(lane);
    this.arm(now);
  }

  /** Clears the timer for good: a closed queue runs nothing more. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(now: number): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const lane of this.waiting) earliest = Math.min(earliest, lane.retryAt);
    if (earliest >= this.timerAt || this.stopped) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = earliest;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, earliest - now));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    const due: Lane[] = [];
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const lane = this.waiting[i] as Lane;
      if (lane.retryAt > now) continue;
      this.waiting.splice(i, 1);
      lane.state = 'idle';
      due.push(lane);
    }
    if (this.waiting.length > 0) this.arm(now);
    if (due.length > 0) this.onDue(due);
  };
}
