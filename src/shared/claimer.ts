import { BacklogUnavailableError } from '../errors/BacklogUnavailableError.js';
import type { HeldKey, HeldKeys } from './heldKeys.js';
import type { SharedQueueSettings } from './queueSettings.js';
import type { StoreLink } from './storeLink.js';

/** Waits between claims that found nothing: doubling from the first to the last while idle. */
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 1_000;

/** What the claimer tells the queue. */
export interface ClaimerHost {
  /** A key was claimed: it has records to run. */
  claimed(): void;
  /** A claim found nothing, or failed: whatever waited for it can look again. */
  found(): void;
  /** A renewal was refused: the lease is gone. */
  lost(held: HeldKey): void;
}

/**
 * Claims keys while the worker holds fewer than `concurrency` and may take
 * more, one claim at a time; polls (backing off while idle) when none is
 * claimable, and is woken at once when something may have become claimable
 * here (an append committed, a key given back, a retry due). It also renews
 * every held lease each third of `leaseMs`.
 */
export class Claimer {
  private claiming = false;
  private stopped = false;
  private pollMs = POLL_MIN_MS;
  private pollTimer: unknown;
  private renewTimer: unknown;

  constructor(
    private readonly settings: SharedQueueSettings,
    private readonly keys: HeldKeys,
    private readonly link: StoreLink,
    private readonly host: ClaimerHost,
  ) {}

  /** Whether a claim is in flight. */
  get isClaiming(): boolean {
    return this.claiming;
  }

  /** Claims now if there is room (and polls from the shortest wait again). */
  wake(): void {
    this.pollMs = POLL_MIN_MS;
    if (this.pollTimer !== undefined) this.settings.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.claim();
    this.armRenewal();
  }

  /** Claims nothing more, renews nothing more. */
  stop(): void {
    this.stopped = true;
    const { clock } = this.settings;
    if (this.pollTimer !== undefined) clock.clearTimeout(this.pollTimer);
    if (this.renewTimer !== undefined) clock.clearTimeout(this.renewTimer);
    this.pollTimer = undefined;
    this.renewTimer = undefined;
  }

  private claim(): void {
    const { settings, keys, link } = this;
    const session = link.session;
    if (this.claiming || this.stopped || settings.producerOnly || session === undefined) return;
    if (!link.available || keys.size >= settings.concurrency || !settings.mayClaim()) return;
    this.claiming = true;
    const request = { limit: settings.claimLimit, leaseMs: settings.leaseMs };
    // Before the request: the store's lease cannot have started earlier than this.
    const asked = settings.clock.now();
    session.claim(request).then(
      (claim) => {
        this.claiming = false;
        link.answered();
        if (claim === undefined) {
          this.poll();
          this.host.found();
          return;
        }
        if (this.stopped || !settings.mayClaim()) {
          // Claimed as the worker stopped or its breaker opened: give it straight back.
          void session.release(claim.lease).catch(() => undefined);
          this.host.found();
          return;
        }
        keys.add(claim, asked);
        this.armRenewal();
        this.pollMs = POLL_MIN_MS;
        this.host.claimed();
        this.claim();
      },
      (error: unknown) => {
        this.claiming = false;
        if (error instanceof BacklogUnavailableError) link.unreachable(error);
        else settings.logger.error?.('SyncWorker: claiming from the shared backlog failed', error);
        this.poll();
        this.host.found();
      },
    );
  }

  private poll(): void {
    if (this.stopped || this.pollTimer !== undefined || this.settings.producerOnly) return;
    const wait = this.pollMs;
    this.pollMs = Math.min(POLL_MAX_MS, this.pollMs * 2);
    this.pollTimer = this.settings.clock.setTimeout(() => {
      this.pollTimer = undefined;
      this.claim();
    }, wait);
  }

  private armRenewal(): void {
    if (this.stopped || this.renewTimer !== undefined || this.keys.size === 0) return;
    this.renewTimer = this.settings.clock.setTimeout(this.renew, this.settings.leaseMs / 3);
  }

  private readonly renew = (): void => {
    this.renewTimer = undefined;
    const session = this.link.session;
    if (this.stopped || session === undefined) return;
    const { clock, leaseMs } = this.settings;
    for (const held of this.keys.all()) {
      const asked = clock.now();
      session.renew(held.lease, leaseMs).then(
        (took) => {
          this.link.answered();
          if (took) held.confirmedAt = asked;
          else if (this.keys.holds(held)) this.host.lost(held);
        },
        (error: unknown) => {
          if (error instanceof BacklogUnavailableError) this.link.unreachable(error);
        },
      );
    }
    this.armRenewal();
  };
}
