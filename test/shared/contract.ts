/**
 * The contract every shared backlog store keeps (memory, PostgreSQL, Redis):
 * one suite, run by each store's test file with its own harness.
 *
 *   sharedStoreContract('postgres', async () => ({ store, advance, cleanup }));
 *
 * Each test gets a fresh, empty location from `makeHarness`; several sessions
 * opened on `harness.store` act as several processes of one fleet.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BacklogRecord, DeadLetter } from '../../src/backlog/types.js';
import { BacklogError } from '../../src/errors/BacklogError.js';
import type {
  NewRecord,
  SharedBacklog,
  SharedBacklogStore,
  SharedRecord,
} from '../../src/shared/types.js';

/** A fresh store location for one test. */
export interface SharedStoreHarness {
  /** The store: every `open` is one more session (process) on the same backlog. */
  readonly store: SharedBacklogStore;
  /**
   * Lets at least `ms` pass on the store's clock (a fake clock for memory;
   * real time for a server, which is the only clock it has).
   */
  advance(ms: number): Promise<void>;
  /** Removes what the test left (schema, keys) and ends connections. */
  cleanup(): Promise<void>;
}

/** A lease short enough to outlive in a test, long enough for a loaded machine's round trips. */
const SHORT_LEASE_MS = 150;
/** Past a short lease on any store, with room for a server's clock granularity. */
const PAST_SHORT_LEASE_MS = 400;
const LONG_LEASE_MS = 60_000;

let seqTag = 0;
function task(key: string, label?: string): NewRecord {
  seqTag++;
  return {
    id: label ?? `t${seqTag}`,
    key,
    handler: 'send',
    payload: { label: label ?? `t${seqTag}` },
    attempts: 0,
    enqueuedAt: 1_000 + seqTag,
  };
}

const ids = (records: readonly BacklogRecord[]): string[] => records.map((r) => r.id);

/** Registers the shared-store contract suite under `name`. */
export function sharedStoreContract(
  name: string,
  makeHarness: () => Promise<SharedStoreHarness>,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip === true)(`shared store contract: ${name}`, () => {
    let harness: SharedStoreHarness;
    const sessions: SharedBacklog[] = [];
    const open = async (role: 'worker' | 'producer' = 'worker'): Promise<SharedBacklog> => {
      const session = await harness.store.open({ role, owner: `w${sessions.length + 1}` });
      sessions.push(session);
      return session;
    };

    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      for (const session of sessions.splice(0)) await session.close();
      await harness.cleanup();
    });

    it('assigns increasing seqs in the order given, and keeps the records as given', async () => {
      const a = await open();
      const stored = await a.append([task('k', 'one'), task('k', 'two'), task('j', 'three')]);
      expect(ids(stored)).toEqual(['one', 'two', 'three']);
      const seqs = stored.map((r) => r.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(3);
      const later = await a.append([task('k', 'four')]);
      expect((later[0] as BacklogRecord).seq).toBeGreaterThan(seqs[2] as number);
      const listed = await a.list();
      expect(ids(listed)).toEqual(['one', 'two', 'three', 'four']);
      expect(listed[0]).toMatchObject({ key: 'k', handler: 'send', payload: { label: 'one' } });
      expect((await a.stats()).pending).toBe(4);
    });

    it('hands out each key first-in first-out, up to the claim limit', async () => {
      const a = await open();
      await a.append([task('k', 'a'), task('k', 'b'), task('k', 'c')]);
      const first = await a.claim({ limit: 2, leaseMs: LONG_LEASE_MS });
      if (first === undefined) throw new Error('no claim');
      expect(ids(first.records)).toEqual(['a', 'b']);
      expect(first.records[0]?.lostLeases).toBe(0);
      const [a1, b1] = first.records as [SharedRecord, SharedRecord, ...SharedRecord[]];
      expect(await a.ack(first.lease, [a1.seq])).toBe(true);
      expect(await a.ack(first.lease, [b1.seq], { release: true })).toBe(true);
      const second = await a.claim({ limit: 2, leaseMs: LONG_LEASE_MS });
      expect(ids(second?.records ?? [])).toEqual(['c']);
    });

    it('holds at most one current lease per key, across sessions', async () => {
      const a = await open();
      const b = await open();
      await a.append([task('k'), task('k')]);
      const claimed = await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      expect(claimed?.lease.owner).toBe('w1');
      expect(await b.claim({ limit: 1, leaseMs: LONG_LEASE_MS })).toBeUndefined();
      expect(await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS })).toBeUndefined();
      expect((await a.stats()).leased).toBe(1);
      expect(await a.dueInMs()).toBeGreaterThan(0);
    });

    it('goes round robin across keys through one rotation that all sessions share', async () => {
      const a = await open();
      const b = await open();
      await a.append([task('x'), task('y'), task('z'), task('x'), task('y'), task('z')]);
      const order: string[] = [];
      for (let turn = 0; turn < 6; turn++) {
        const session = turn % 2 === 0 ? a : b;
        const claim = await session.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
        if (claim === undefined) throw new Error(`nothing claimable at turn ${turn}`);
        order.push(claim.lease.key);
        const seqs = claim.records.map((r) => r.seq);
        expect(await session.ack(claim.lease, seqs, { release: true })).toBe(true);
      }
      expect(order).toEqual(['x', 'y', 'z', 'x', 'y', 'z']);
      expect(await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS })).toBeUndefined();
      expect(await a.dueInMs()).toBeUndefined();
    });

    it('keeps a retried key unclaimable until its retry time, on the store clock, for any worker', async () => {
      const a = await open();
      const b = await open();
      await a.append([task('k', 'head'), task('k', 'next')]);
      const claim = await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      if (claim === undefined) throw new Error('no claim');
      const failed = { ...(claim.records[0] as BacklogRecord), attempts: 1, lastError: 'boom' };
      expect(await a.retry(claim.lease, [failed], PAST_SHORT_LEASE_MS)).toBe(true);
      expect(await b.claim({ limit: 1, leaseMs: LONG_LEASE_MS })).toBeUndefined();
      expect(await b.dueInMs()).toBeGreaterThan(0);
      await harness.advance(PAST_SHORT_LEASE_MS * 2);
      expect(await b.dueInMs()).toBe(0);
      const resumed = await b.claim({ limit: 2, leaseMs: LONG_LEASE_MS });
      expect(ids(resumed?.records ?? [])).toEqual(['head', 'next']);
      expect(resumed?.records[0]).toMatchObject({ attempts: 1, lastError: 'boom', lostLeases: 0 });
    });

    it('refuses a stale token: a released holder changes nothing once another worker claimed', async () => {
      const a = await open();
      const b = await open();
      await a.append([task('k', 'only')]);
      const old = await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      if (old === undefined) throw new Error('no claim');
      expect(await a.release(old.lease)).toBe(true);
      const fresh = await b.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      if (fresh === undefined) throw new Error('no second claim');
      expect(fresh.lease.token).toBeGreaterThan(old.lease.token);
      const seq = (old.records[0] as BacklogRecord).seq;
      expect(await a.ack(old.lease, [seq])).toBe(false);
      expect(await a.renew(old.lease, LONG_LEASE_MS)).toBe(false);
      expect(await a.retry(old.lease, old.records, 0)).toBe(false);
      const letter: DeadLetter = { ...(old.records[0] as BacklogRecord), deadAt: 1, reason: 'x' };
      expect(await a.bury(old.lease, [letter])).toBe(false);
      expect(await a.release(old.lease)).toBe(false);
      expect(ids(await a.list())).toEqual(['only']);
      expect((await a.stats()).deadLetters).toBe(0);
      expect(await b.ack(fresh.lease, [seq], { release: true })).toBe(true);
      expect((await b.stats()).pending).toBe(0);
    });

    it('makes a key claimable again when its lease expires, counting a lost lease on what it held', async () => {
      const a = await open();
      const b = await open();
      await a.append([task('k', 'head'), task('k', 'second'), task('k', 'third')]);
      const lost = await a.claim({ limit: 2, leaseMs: SHORT_LEASE_MS });
      if (lost === undefined) throw new Error('no claim');
      await harness.advance(PAST_SHORT_LEASE_MS);
      expect(await a.renew(lost.lease, LONG_LEASE_MS)).toBe(false);
      // A head that lost a lease comes alone, whatever the limit.
      const again = await b.claim({ limit: 3, leaseMs: LONG_LEASE_MS });
      expect(ids(again?.records ?? [])).toEqual(['head']);
      expect(again?.records[0]?.lostLeases).toBe(1);
      expect(again?.lease.token).toBeGreaterThan(lost.lease.token);
      expect((await b.list()).map((r) => r.lostLeases)).toEqual([1, 1, 0]);
      // The expired holder comes back late: its outcome changes nothing.
      expect(await a.ack(lost.lease, [(lost.records[0] as BacklogRecord).seq])).toBe(false);
      expect((await a.stats()).pending).toBe(3);
    });

    it('counts a lost lease only on what the lease was given: a head that killed its worker runs alone', async () => {
      const a = await open();
      await a.append([task('k', 'killer'), task('k', 'innocent')]);
      for (let lost = 1; lost <= 3; lost++) {
        const claim = await a.claim({ limit: 2, leaseMs: SHORT_LEASE_MS });
        expect(ids(claim?.records ?? [])).toEqual(lost === 1 ? ['killer', 'innocent'] : ['killer']);
        await harness.advance(PAST_SHORT_LEASE_MS);
      }
      const last = await a.claim({ limit: 2, leaseMs: LONG_LEASE_MS });
      expect(last?.records.map((r) => [r.id, r.lostLeases])).toEqual([['killer', 3]]);
      expect((await a.list()).map((r) => [r.id, r.lostLeases])).toEqual([
        ['killer', 3],
        ['innocent', 1],
      ]);
    });

    it('renews a current lease past its first expiry', async () => {
      const a = await open();
      const b = await open();
      await a.append([task('k')]);
      const claim = await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      if (claim === undefined) throw new Error('no claim');
      expect(await a.renew(claim.lease, LONG_LEASE_MS)).toBe(true);
      expect(await b.claim({ limit: 1, leaseMs: LONG_LEASE_MS })).toBeUndefined();
      expect(await a.ack(claim.lease, [(claim.records[0] as BacklogRecord).seq])).toBe(true);
    });

    it('keeps a released record first in its key, with no lost lease and no attempt used', async () => {
      const a = await open();
      const b = await open();
      await a.append([task('k', 'head'), task('k', 'next')]);
      const claim = await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      if (claim === undefined) throw new Error('no claim');
      expect(await a.release(claim.lease)).toBe(true);
      const again = await b.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      expect(again?.records[0]).toMatchObject({ id: 'head', attempts: 0, lostLeases: 0 });
    });

    it('buries to the dead letters and requeues them at the end of their key with fresh attempts', async () => {
      const a = await open();
      await a.append([task('k', 'bad'), task('k', 'good')]);
      const claim = await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      if (claim === undefined) throw new Error('no claim');
      const record = claim.records[0] as BacklogRecord;
      const letter: DeadLetter = {
        ...record,
        attempts: 3,
        lastError: 'rejected',
        deadAt: 5_000,
        reason: 'rejected',
      };
      expect(await a.bury(claim.lease, [letter], { release: true })).toBe(true);
      const dead = await a.deadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ id: 'bad', reason: 'rejected', attempts: 3, deadAt: 5_000 });
      expect(await a.stats()).toMatchObject({ pending: 1, deadLetters: 1 });
      expect(await a.requeueDeadLetters()).toBe(1);
      const listed = await a.list({ key: 'k' });
      expect(ids(listed)).toEqual(['good', 'bad']);
      expect(listed[1]).toMatchObject({ attempts: 0, lostLeases: 0 });
      expect((listed[1] as BacklogRecord).seq).toBeGreaterThan(record.seq);
      expect((await a.stats()).deadLetters).toBe(0);
    });

    it('lets a producer session append and flush but never claim', async () => {
      const producer = await open('producer');
      const worker = await open('worker');
      expect(producer.role).toBe('producer');
      const appended = producer.append([task('k', 'from-api')]);
      await producer.flush();
      await expect(appended).resolves.toHaveLength(1);
      await expect(producer.claim({ limit: 1, leaseMs: LONG_LEASE_MS })).rejects.toBeInstanceOf(
        BacklogError,
      );
      const claim = await worker.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      expect(claim?.records[0]?.id).toBe('from-api');
    });

    it('purges pending records, leases and dead letters', async () => {
      const a = await open();
      await a.append([task('k'), task('j'), task('j')]);
      const claim = await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS });
      if (claim === undefined) throw new Error('no claim');
      const letter = { ...(claim.records[0] as BacklogRecord), deadAt: 1, reason: 'x' };
      await a.bury(claim.lease, [letter], { release: true });
      expect(await a.purge()).toBe(3);
      expect(await a.stats()).toMatchObject({ pending: 0, deadLetters: 0, leased: 0 });
      expect(await a.claim({ limit: 1, leaseMs: LONG_LEASE_MS })).toBeUndefined();
    });
  });
}
