import type { BacklogRecord, DeadLetter } from '../backlog/types.js';
import type { BacklogError } from '../errors/BacklogError.js';
import type { BacklogUnavailableError } from '../errors/BacklogUnavailableError.js';
import type { DurableTasks } from '../worker/durableTasks.js';
import { Claimer } from './claimer.js';
import { type HeldKey, HeldKeys } from './heldKeys.js';
import { LeaseOps } from './leaseOps.js';
import { Outbox } from './outbox.js';
import type { SharedQueueSettings } from './queueSettings.js';
import { StoreLink } from './storeLink.js';
import type { SharedBacklog } from './types.js';

/**
 * The durable tasks of a worker on a store a fleet shares: accepted tasks go
 * out in appends ({@link Outbox}); keys come in by claims ({@link Claimer}),
 * held under leases that are renewed while they are held and whose
 * operations run in order ({@link LeaseOps}). The durable source above it
 * decides every fate exactly as over a single-owner store.
 */
export class SharedQueue implements DurableTasks {
  private readonly keys = new HeldKeys();
  private readonly outbox: Outbox;
  private readonly ops: LeaseOps;
  private readonly link: StoreLink;
  private readonly claimer: Claimer;
  /** Retry backoffs of keys this worker gave back, still running out. */
  private backoffs = 0;
  closed = false;

  constructor(private readonly settings: SharedQueueSettings) {
    const { clock, logger, host } = settings;
    this.link = new StoreLink(settings, {
      opened: () => this.resume(),
      answeredAgain: () => {
        this.resume();
        host.onRunnable();
      },
      failWaiting: (error) => this.outbox.failAll(error),
    });
    this.outbox = new Outbox(
      {
        committed: () => {
          this.link.answered();
          this.claimer.wake();
        },
        unreachable: (error) => this.link.unreachable(error),
        notKept: (records, error) => host.onNotKept(records, error),
        settled: () => host.onWriteSettled(),
      },
      () => this.link.session,
    );
    this.ops = new LeaseOps(this, clock, settings.leaseMs, logger);
    this.claimer = new Claimer(settings, this.keys, this.link, {
      claimed: () => host.onRunnable(),
      found: () => host.onWriteSettled(),
      lost: (held) => this.lost(held, 'renew'),
    });
  }

  /** Starts connecting (the worker's constructor cannot wait for it). */
  start(): void {
    this.link.open();
  }

  get pending(): number {
    return this.outbox.count + this.keys.count;
  }

  get inMemory(): number {
    return this.pending;
  }

  get hasReady(): boolean {
    return this.link.available && this.keys.hasReady;
  }

  get hasBackoff(): boolean {
    return this.backoffs > 0;
  }

  get isPersisting(): boolean {
    return this.outbox.isSending;
  }

  /** Tasks wait in the store for some worker to claim them: always, with a shared store. */
  get isReplaying(): boolean {
    return false;
  }

  /** Appends, a claim, or lease operations in flight: each makes the drain look again when it ends. */
  get isWriting(): boolean {
    return this.outbox.count > 0 || this.claimer.isClaiming || this.ops.inFlight > 0;
  }

  readonly lanes = { oldestEnqueuedAt: () => this.oldestEnqueuedAt() };

  refusal(): BacklogError | undefined {
    return this.link.refusal(this.outbox.count);
  }

  accept(fields: Omit<BacklogRecord, 'seq'>): BacklogRecord {
    // The store assigns the seq when the record is appended.
    const record: BacklogRecord = { seq: -1, ...fields };
    this.outbox.add(record);
    return record;
  }

  flush(): Promise<void> {
    return this.outbox.flush();
  }

  /** While the store is unreachable delivery pauses: an outcome could not be recorded. */
  prepare(_oldest: boolean): boolean {
    if (!this.link.available) return false;
    for (const held of this.keys.expired(this.settings.clock.now(), this.settings.leaseMs)) {
      this.lost(held, 'expired here');
    }
    return this.keys.prepare();
  }

  peek(): BacklogRecord | undefined {
    return this.keys.peek();
  }

  take(): BacklogRecord {
    return this.keys.take(1)[0] as BacklogRecord;
  }

  /** A failed batch is split by running its records alone (see `HeldKeys.take`), not here. */
  isSplitting(_key: string): boolean {
    return false;
  }

  takeBatch(maxSize: number): BacklogRecord[] {
    return this.keys.take(maxSize);
  }

  succeeded(records: BacklogRecord | readonly BacklogRecord[]): void {
    const batch = Array.isArray(records) ? records : [records as BacklogRecord];
    const held = this.heldFor(batch[0] as BacklogRecord);
    if (held === undefined) return; // its lease was lost: the late outcome changes nothing
    const more = this.endRun(held);
    const seqs = batch.map((r) => r.seq);
    this.ops.run(held, 'ack', () => this.session.ack(held.lease, seqs, { release: !more }));
    if (!more) this.claimer.wake();
  }

  retryAt(records: readonly BacklogRecord[], at: number, now: number): void {
    const held = this.heldFor(records[0] as BacklogRecord);
    if (held === undefined) return;
    this.keys.drop(held);
    const delayMs = Math.max(0, at - now);
    const copies = records.map((r) => ({ ...r }));
    this.ops.run(held, 'retry', () => this.session.retry(held.lease, copies, delayMs));
    this.waitOutBackoff(delayMs);
    this.claimer.wake();
  }

  split(records: readonly BacklogRecord[]): void {
    // Given back at once with its new attempt counts: its records then run one by one.
    this.retryAt(records, 0, 0);
  }

  bury(record: BacklogRecord, error: Error): DeadLetter {
    const letter: DeadLetter = { ...record, deadAt: Date.now(), reason: error.message };
    const held = this.heldFor(record);
    if (held === undefined) return letter;
    const more = this.endRun(held);
    this.ops.run(held, 'bury', () => this.session.bury(held.lease, [letter], { release: !more }));
    if (!more) this.claimer.wake();
    return letter;
  }

  release(record: BacklogRecord): void {
    const held = this.heldFor(record);
    if (held !== undefined) this.giveBack(held);
  }

  /** The store reports no unreadable records to a worker: a claim hands them out for burial. */
  forgetCorrupt(): void {}

  async requeueDead(): Promise<number> {
    const count = await this.session.requeueDeadLetters();
    this.claimer.wake();
    return count;
  }

  /** The breaker opened: give back every held key not running; claims wait for it to let calls through. */
  breakerChanged(to: string): void {
    if (to === 'open') {
      for (const held of this.keys.all()) if (held.running === 0) this.giveBack(held);
      return;
    }
    this.claimer.wake();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const held = this.keys.all();
    for (const h of held) this.giveBack(h);
    this.claimer.stop();
    // Tasks still in memory with the store down cannot be kept: they fail now, visibly.
    if (!this.link.available) this.outbox.abandon(this.link.closingError());
    await this.outbox.flush().catch(() => undefined);
    this.closed = true;
    await this.ops.settled(held);
    this.settings.onClosed?.();
    await this.link.close();
  }

  /** For {@link LeaseOps}: the operations in flight have all ended. */
  opsSettled(): void {
    this.settings.host.onWriteSettled();
  }

  /** For {@link LeaseOps}: the store answered. */
  answered(): void {
    this.link.answered();
  }

  /** For {@link LeaseOps}: the store could not be reached. */
  unreachable(error: BacklogUnavailableError): void {
    this.link.unreachable(error);
  }

  /** A lease was lost: stop using its key; its records are another worker's to run. */
  lost(held: HeldKey, what: string): void {
    if (this.closed) return;
    this.settings.logger.warn?.(
      `SyncWorker: lost the lease on key ${JSON.stringify(held.lease.key)} (${what}): another worker may run its tasks, and this worker's outcome for them changes nothing`,
    );
    this.keys.drop(held);
    this.claimer.wake();
  }

  /**
   * The run on `held` ended with an outcome; whether the worker keeps the key
   * for its next records. It does not while its breaker is open or it is
   * stopping: the key goes back, first in its key, for another worker.
   */
  private endRun(held: HeldKey): boolean {
    const more = this.keys.ended(held) && this.settings.mayClaim();
    if (!more) this.keys.drop(held);
    return more;
  }

  private giveBack(held: HeldKey): void {
    this.keys.drop(held);
    this.ops.run(held, 'release', () => this.session.release(held.lease));
  }

  private heldFor(record: BacklogRecord): HeldKey | undefined {
    const held = this.keys.get(record.key);
    return held !== undefined && held.running > 0 ? held : undefined;
  }

  /** The session, which exists whenever a lease does. */
  private get session(): SharedBacklog {
    return this.link.connected();
  }

  private oldestEnqueuedAt(): number | undefined {
    const held = this.keys.oldestEnqueuedAt();
    const waiting = this.outbox.oldestEnqueuedAt();
    return held === undefined || waiting === undefined
      ? (held ?? waiting)
      : Math.min(held, waiting);
  }

  private resume(): void {
    this.outbox.resume();
    this.claimer.wake();
  }

  private waitOutBackoff(delayMs: number): void {
    this.backoffs++;
    this.settings.clock.setTimeout(() => {
      this.backoffs--;
      this.claimer.wake();
      this.settings.host.onRunnable();
    }, delayMs);
  }
}
