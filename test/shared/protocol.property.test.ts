/**
 * A property test of the shared-store protocol on `memorySharedBacklog()`:
 * random sequences of appends, claims, acks, retries, releases, renewals and
 * time passing, from three sessions, checked step by step against a model of
 * what the protocol promises (per-key FIFO, one current lease per key,
 * fencing, retry times, the one rotation, lost-lease counts).
 *
 * Fixed seed, 300 runs; `FC_RUNS` and `FC_SEED` search further.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memorySharedBacklog } from '../../src/shared/memorySharedBacklog.js';
import type { SharedBacklog, SharedLease } from '../../src/shared/types.js';

const RUNS = Number(process.env.FC_RUNS ?? 300);
const SEED = Number(process.env.FC_SEED ?? 20_261_202);
const KEYS = ['a', 'b', 'c'];
const LEASE_MS = 100;

type Step =
  | { kind: 'append'; session: number; key: string }
  | { kind: 'claim'; session: number; limit: number }
  | { kind: 'ack' | 'release' | 'renew'; lease: number; all: boolean }
  | { kind: 'retry'; lease: number; delayMs: number }
  | { kind: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    session: fc.nat(2),
    key: fc.constantFrom(...KEYS),
  }),
  fc.record({
    kind: fc.constant('claim' as const),
    session: fc.nat(2),
    limit: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constantFrom('ack' as const, 'release' as const, 'renew' as const),
    lease: fc.nat(20),
    all: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('retry' as const),
    lease: fc.nat(20),
    delayMs: fc.constantFrom(0, 50, 150),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(10, 60, 120) }),
);

interface ModelRecord {
  seq: number;
  id: string;
  lostLeases: number;
}
interface ModelLease {
  token: number;
  until: number;
  given: number[];
}
interface ModelKey {
  records: ModelRecord[];
  turn: number;
  notBefore: number;
  lease?: ModelLease;
}

/** What the protocol promises, kept by hand. */
class Model {
  now = 0;
  private turn = 0;
  readonly keys = new Map<string, ModelKey>();

  append(key: string, seq: number, id: string): void {
    let k = this.keys.get(key);
    if (k === undefined) {
      k = { records: [], turn: this.turn++, notBefore: 0 };
      this.keys.set(key, k);
    } else if (k.records.length === 0) k.turn = this.turn++;
    k.records.push({ seq, id, lostLeases: 0 });
  }

  /** The key the next claim must take, if any. */
  next(): [string, ModelKey] | undefined {
    let best: [string, ModelKey] | undefined;
    for (const entry of this.keys) {
      const k = entry[1];
      const free = k.lease === undefined || k.lease.until <= this.now;
      if (k.records.length > 0 && free && k.notBefore <= this.now) {
        if (best === undefined || k.turn < best[1].turn) best = entry;
      }
    }
    return best;
  }

  claimed(k: ModelKey, token: number, limit: number): ModelRecord[] {
    for (const seq of k.lease?.given ?? []) {
      const record = k.records.find((r) => r.seq === seq);
      if (record !== undefined) record.lostLeases++;
    }
    const size = (k.records[0] as ModelRecord).lostLeases > 0 ? 1 : limit;
    const head = k.records.slice(0, size);
    k.lease = { token, until: this.now + LEASE_MS, given: head.map((r) => r.seq) };
    k.turn = this.turn++;
    return head;
  }

  current(key: string, token: number): ModelKey | undefined {
    const k = this.keys.get(key);
    return k?.lease?.token === token && k.lease.until > this.now ? k : undefined;
  }

  get pending(): number {
    let n = 0;
    for (const k of this.keys.values()) n += k.records.length;
    return n;
  }

  get leased(): number {
    let n = 0;
    for (const k of this.keys.values()) {
      if (k.records.length > 0 && k.lease !== undefined && k.lease.until > this.now) n++;
    }
    return n;
  }
}

async function run(steps: readonly Step[]): Promise<void> {
  const model = new Model();
  const store = memorySharedBacklog({ now: () => model.now });
  const sessions: SharedBacklog[] = [];
  for (let i = 0; i < 3; i++) sessions.push(await store.open({ owner: `s${i}` }));
  const leases: { lease: SharedLease; session: SharedBacklog; seqs: number[] }[] = [];
  let made = 0;
  for (const s of steps) {
    const where = `after ${JSON.stringify(s)}`;
    if (s.kind === 'append') {
      const id = `t${made++}`;
      const [stored] = await (sessions[s.session] as SharedBacklog).append([
        { id, key: s.key, handler: 'h', payload: null, attempts: 0, enqueuedAt: 0 },
      ]);
      model.append(s.key, stored?.seq as number, id);
    } else if (s.kind === 'claim') {
      const session = sessions[s.session] as SharedBacklog;
      const claim = await session.claim({ limit: s.limit, leaseMs: LEASE_MS });
      const expected = model.next();
      expect(claim?.lease.key, where).toBe(expected?.[0]);
      if (claim !== undefined && expected !== undefined) {
        const head = model.claimed(expected[1], claim.lease.token, s.limit);
        expect(
          claim.records.map((r) => [r.id, r.lostLeases]),
          where,
        ).toEqual(head.map((r) => [r.id, r.lostLeases]));
        leases.push({ lease: claim.lease, session, seqs: claim.records.map((r) => r.seq) });
      }
    } else if (s.kind === 'advance') {
      model.now += s.ms;
    } else {
      const held = leases[s.lease % Math.max(1, leases.length)];
      if (held === undefined) continue;
      const { lease, session } = held;
      const k = model.current(lease.key, lease.token);
      let took: boolean;
      if (s.kind === 'ack') {
        const seqs = s.all ? held.seqs : held.seqs.slice(0, 1);
        took = await session.ack(lease, seqs, { release: s.all });
        if (k !== undefined) {
          k.records = k.records.filter((r) => !seqs.includes(r.seq));
          if (s.all) k.lease = undefined;
        }
      } else if (s.kind === 'release') {
        took = await session.release(lease);
        if (k !== undefined) k.lease = undefined;
      } else if (s.kind === 'renew') {
        took = await session.renew(lease, LEASE_MS);
        if (k?.lease !== undefined) k.lease.until = model.now + LEASE_MS;
      } else if (s.kind === 'retry') {
        const records = (await session.list({ key: lease.key })).filter((r) =>
          held.seqs.includes(r.seq),
        );
        took = await session.retry(lease, records, s.delayMs);
        if (k !== undefined) {
          k.lease = undefined;
          k.notBefore = model.now + s.delayMs;
        }
      } else continue;
      expect(took, where).toBe(k !== undefined);
    }
    const stats = await (sessions[0] as SharedBacklog).stats();
    expect({ pending: stats.pending, leased: stats.leased }, where).toEqual({
      pending: model.pending,
      leased: model.leased,
    });
  }
}

describe('the shared-store protocol against its model (memorySharedBacklog)', () => {
  it(`keeps FIFO per key, one lease per key, fencing, retry times and the rotation (${RUNS} runs, seed ${SEED})`, async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), run), {
      seed: SEED,
      numRuns: RUNS,
    });
  });
});
