import { revive } from '../backlog/record.js';
import type { BacklogRecord, DeadLetter } from '../backlog/types.js';
import { refuseUnknownOptions } from '../optionNames.js';
import { optionsObject } from '../validate.js';
import { producerRefusal, sessionOwner } from './session.js';
import type {
  SharedBacklog,
  SharedBacklogStats,
  SharedBacklogStore,
  SharedLease,
  SharedOpenOptions,
  SharedRecord,
} from './types.js';

/** Options of {@link memorySharedBacklog}. */
export interface MemorySharedBacklogOptions {
  /**
   * The store's clock, ms, standing in for a server's (leases and retry
   * times follow it): a test passes a fake one to let time pass at will.
   * Default `Date.now`.
   */
  now?: () => number;
}

interface Stored {
  record: BacklogRecord;
  lostLeases: number;
}

interface Lease {
  owner: string;
  token: number;
  until: number;
  /** The seqs this lease was given, counted as lost if it expires. */
  seqs: number[];
}

interface KeyState {
  records: Map<number, Stored>;
  turn: number;
  notBefore: number;
  lease?: Lease;
}

const LOCATION = 'memory';
const clone = <T>(value: T): T => structuredClone(value);

/**
 * A shared backlog kept in this process's memory: the shared-store protocol
 * (leases, fencing, one rotation, retry times, dead letters) for sessions in
 * one process, lost when it exits. For tests, and for trying a fleet's code
 * paths without a server. Every `open` is another session on the same state.
 *
 * @param options `now`, the store's clock; any other option throws a `TypeError` naming it.
 */
export function memorySharedBacklog(options: MemorySharedBacklogOptions = {}): SharedBacklogStore {
  refuseUnknownOptions('memorySharedBacklog', optionsObject('memorySharedBacklog', options), [
    'now',
  ]);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('memorySharedBacklog: "now" must be a function returning ms');
  }
  const state = new SharedMemory(options.now ?? Date.now);
  return {
    kind: 'shared',
    location: LOCATION,
    open: (openOptions?: SharedOpenOptions) => Promise.resolve(state.session(openOptions)),
  };
}

/** The state all sessions share, and the protocol's rules over it. */
class SharedMemory {
  private readonly keys = new Map<string, KeyState>();
  private readonly dead = new Map<number, DeadLetter>();
  private seq = 1;
  private turn = 1;
  private token = 1;

  constructor(private readonly now: () => number) {}

  session(options: SharedOpenOptions = {}): SharedBacklog {
    const owner = sessionOwner(options);
    const role = options.role ?? 'worker';
    const refuseProducer = (): void => {
      if (role === 'producer') throw producerRefusal(LOCATION, owner);
    };
    const later = <T>(work: () => T): Promise<T> => {
      try {
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return {
      location: LOCATION,
      owner,
      role,
      append: (records) => later(() => records.map((fields) => this.put({ ...fields }))),
      flush: () => Promise.resolve(),
      claim: (request) =>
        later(() => {
          refuseProducer();
          return this.claim(owner, request.limit, request.leaseMs);
        }),
      dueInMs: () =>
        later(() => {
          refuseProducer();
          return this.dueInMs();
        }),
      ack: (lease, seqs, opts) => later(() => this.ack(lease, seqs, opts?.release === true)),
      retry: (lease, records, delayMs) => later(() => this.retry(lease, records, delayMs)),
      bury: (lease, letters, opts) =>
        later(() => this.bury(lease, letters, opts?.release === true)),
      renew: (lease, leaseMs) => later(() => this.renew(lease, leaseMs)),
      release: (lease) => later(() => this.end(lease)),
      requeueDeadLetters: () => later(() => this.requeue()),
      stats: () => later(() => this.stats()),
      list: (opts = {}) => later(() => this.list(opts.key, opts.limit)),
      deadLetters: (opts = {}) =>
        later(() => [...this.dead.values()].slice(0, opts.limit ?? this.dead.size).map(clone)),
      purge: () => later(() => this.purge()),
      close: () => Promise.resolve(),
    };
  }

  private put(fields: Omit<BacklogRecord, 'seq'>, lostLeases = 0): BacklogRecord {
    const record: BacklogRecord = clone({ ...fields, seq: this.seq++ });
    let key = this.keys.get(record.key);
    if (key === undefined) {
      key = { records: new Map(), turn: this.turn++, notBefore: 0 };
      this.keys.set(record.key, key);
    } else if (key.records.size === 0) {
      key.turn = this.turn++;
    }
    key.records.set(record.seq, { record, lostLeases });
    return clone(record);
  }

  private claimable(key: KeyState, now: number): boolean {
    return (
      key.records.size > 0 &&
      (key.lease === undefined || key.lease.until <= now) &&
      key.notBefore <= now
    );
  }

  private claim(owner: string, limit: number, leaseMs: number) {
    const now = this.now();
    let best: [string, KeyState] | undefined;
    for (const entry of this.keys) {
      if (this.claimable(entry[1], now) && (best === undefined || entry[1].turn < best[1].turn)) {
        best = entry;
      }
    }
    if (best === undefined) return undefined;
    const [name, key] = best;
    // A lease still on the key here has expired with no outcome: its records' runs were lost.
    for (const seq of key.lease?.seqs ?? []) {
      const stored = key.records.get(seq);
      if (stored !== undefined) stored.lostLeases++;
    }
    const first = key.records.values().next().value as Stored;
    // A head that lost a lease runs alone: what follows it is not counted again if it kills its worker.
    const size = first.lostLeases > 0 ? 1 : Math.max(1, limit);
    const head = [...key.records.values()].slice(0, size);
    const lease: Lease = {
      owner,
      token: this.token++,
      until: now + leaseMs,
      seqs: head.map((s) => s.record.seq),
    };
    key.lease = lease;
    key.turn = this.turn++;
    const records: SharedRecord[] = head.map((s) => ({
      ...clone(s.record),
      lostLeases: s.lostLeases,
    }));
    return {
      lease: { key: name, owner, token: lease.token, expiresAt: lease.until },
      records,
    };
  }

  private dueInMs(): number | undefined {
    const now = this.now();
    let soonest: number | undefined;
    for (const key of this.keys.values()) {
      if (key.records.size === 0) continue;
      const at = Math.max(key.notBefore, key.lease?.until ?? 0);
      soonest = Math.min(soonest ?? Number.POSITIVE_INFINITY, Math.max(0, at - now));
    }
    return soonest;
  }

  /** The key's state if `lease` is current on it (latest token, not expired), else undefined. */
  private current(lease: SharedLease): KeyState | undefined {
    const key = this.keys.get(lease.key);
    const held = key?.lease;
    if (held === undefined || held.token !== lease.token || held.until <= this.now()) {
      return undefined;
    }
    return key;
  }

  private ack(lease: SharedLease, seqs: readonly number[], release: boolean): boolean {
    const key = this.current(lease);
    if (key === undefined) return false;
    for (const seq of seqs) key.records.delete(seq);
    if (release) key.lease = undefined;
    return true;
  }

  private retry(lease: SharedLease, records: readonly BacklogRecord[], delayMs: number): boolean {
    const key = this.current(lease);
    if (key === undefined) return false;
    for (const record of records) {
      const stored = key.records.get(record.seq);
      if (stored !== undefined) stored.record = clone({ ...record, key: lease.key });
    }
    key.notBefore = this.now() + Math.max(0, delayMs);
    key.lease = undefined;
    return true;
  }

  private bury(lease: SharedLease, letters: readonly DeadLetter[], release: boolean): boolean {
    const key = this.current(lease);
    if (key === undefined) return false;
    for (const letter of letters) {
      if (!key.records.delete(letter.seq)) continue;
      this.dead.set(letter.seq, clone({ ...letter, key: lease.key }));
    }
    if (release) key.lease = undefined;
    return true;
  }

  private renew(lease: SharedLease, leaseMs: number): boolean {
    const key = this.current(lease);
    if (key?.lease === undefined) return false;
    key.lease.until = this.now() + leaseMs;
    return true;
  }

  private end(lease: SharedLease): boolean {
    const key = this.current(lease);
    if (key === undefined) return false;
    key.lease = undefined;
    return true;
  }

  private requeue(): number {
    const letters = [...this.dead.values()].sort((a, b) => a.seq - b.seq);
    this.dead.clear();
    for (const letter of letters) {
      const { seq: _old, ...fields } = revive(letter, 0);
      this.put(fields);
    }
    return letters.length;
  }

  private stats(): SharedBacklogStats {
    const now = this.now();
    const byKey: Record<string, number> = {};
    let pending = 0;
    let leased = 0;
    let oldestEnqueuedAt: number | undefined;
    for (const [name, key] of this.keys) {
      if (key.records.size === 0) continue;
      byKey[name] = key.records.size;
      pending += key.records.size;
      if (key.lease !== undefined && key.lease.until > now) leased++;
      for (const { record } of key.records.values()) {
        oldestEnqueuedAt = Math.min(oldestEnqueuedAt ?? record.enqueuedAt, record.enqueuedAt);
      }
    }
    return { pending, deadLetters: this.dead.size, byKey, oldestEnqueuedAt, leased };
  }

  private list(keyName: string | undefined, limit: number | undefined): SharedRecord[] {
    const all: SharedRecord[] = [];
    for (const [name, key] of this.keys) {
      if (keyName !== undefined && keyName !== name) continue;
      for (const s of key.records.values())
        all.push({ ...clone(s.record), lostLeases: s.lostLeases });
    }
    all.sort((a, b) => a.seq - b.seq);
    return all.slice(0, limit ?? all.length);
  }

  private purge(): number {
    let count = this.dead.size;
    for (const key of this.keys.values()) count += key.records.size;
    this.keys.clear();
    this.dead.clear();
    return count;
  }
}
