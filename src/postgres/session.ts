import type pg from 'pg';
import { decodeDeadLetter, decodeRecord, encodeRecord, revive } from '../backlog/record.js';
import type { DeadLetter } from '../backlog/types.js';
import { AppendsInFlight } from '../shared/appendsInFlight.js';
import { producerRefusal, sessionOwner } from '../shared/session.js';
import type {
  SharedBacklog,
  SharedBacklogStats,
  SharedOpenOptions,
  SharedRecord,
} from '../shared/types.js';
import { storeError } from './errors.js';

/** What a session needs of its store. */
export interface SessionSettings {
  pool: pg.Pool;
  location: string;
  /** The schema's name, quoted for SQL. */
  schema: string;
  options: SharedOpenOptions;
  /** Called once when the session closes. */
  ended(): Promise<void>;
}

interface ClaimRow {
  o_key: string;
  o_token: string;
  o_until: number;
  o_seq: string;
  o_lost: number;
  o_body: string;
}

/**
 * A stored record that cannot be decoded still holds its key's place: it is
 * handed out under a handler no worker registers, so the worker that claims
 * it buries it (with the reason) and the key moves on.
 */
function readRecord(seq: number, body: string, lostLeases: number, key: string): SharedRecord {
  try {
    return { ...decodeRecord(seq, body), lostLeases };
  } catch (error) {
    return {
      seq,
      id: `corrupt-${seq}`,
      key,
      handler: '',
      payload: body,
      attempts: 0,
      enqueuedAt: 0,
      lastError: `stored record could not be read: ${(error as Error).message}`,
      lostLeases,
    };
  }
}

/** One session on a PostgreSQL shared backlog: every call is one function call, one round trip. */
export function postgresSession(settings: SessionSettings): SharedBacklog {
  const { pool, location, schema: s } = settings;
  const owner = sessionOwner(settings.options);
  const role = settings.options.role ?? 'worker';
  const appends = new AppendsInFlight();
  let closed = false;

  // The hot statements are prepared once per connection (by name: one per schema and operation),
  // which spares the server a parse and a plan per task.
  const query = async <R extends pg.QueryResultRow>(
    what: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<R[]> => {
    try {
      return (await pool.query<R>({ name: `xsw ${s} ${what}`, text: sql, values: params })).rows;
    } catch (error) {
      throw storeError(location, what, error);
    }
  };
  const flag = async (what: string, sql: string, params: unknown[]): Promise<boolean> =>
    (await query<{ ok: boolean }>(what, `SELECT ${s}.${sql} AS ok`, params))[0]?.ok === true;
  const transaction = async <T>(what: string, work: (client: pg.PoolClient) => Promise<T>) => {
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined);
      throw storeError(location, what, error);
    } finally {
      client?.release();
    }
  };
  const refuseProducer = (): void => {
    if (role === 'producer') throw producerRefusal(location, owner);
  };

  return {
    location,
    owner,
    role,
    append(records) {
      if (records.length === 0) return Promise.resolve([]);
      const keys = records.map((r) => r.key);
      const bodies = records.map((r) => encodeRecord({ ...r, seq: 0 }));
      const done = query<{ seq: string }>(
        'append',
        `SELECT ${s}.append($1::text[], $2::text[]) AS seq`,
        [keys, bodies],
      ).then((rows) => records.map((r, i) => ({ ...r, seq: Number(rows[i]?.seq) })));
      return appends.track(done);
    },
    async flush() {
      await appends.settled();
    },
    async claim(request) {
      refuseProducer();
      const rows = await query<ClaimRow>('claim', `SELECT * FROM ${s}.claim($1, $2, $3)`, [
        owner,
        Math.max(1, request.limit),
        request.leaseMs,
      ]);
      const first = rows[0];
      if (first === undefined) return undefined;
      return {
        lease: { key: first.o_key, owner, token: Number(first.o_token), expiresAt: first.o_until },
        records: rows.map((r) => readRecord(Number(r.o_seq), r.o_body, r.o_lost, r.o_key)),
      };
    },
    async dueInMs() {
      refuseProducer();
      const rows = await query<{ ms: number | null }>('dueInMs', `SELECT ${s}.due_in_ms() AS ms`);
      const ms = rows[0]?.ms;
      return ms === null || ms === undefined ? undefined : Math.ceil(ms);
    },
    ack: (lease, seqs, options) =>
      flag('ack', 'ack($1, $2, $3::bigint[], $4)', [
        lease.key,
        lease.token,
        seqs,
        options?.release === true,
      ]),
    retry: (lease, records, delayMs) =>
      flag('retry', 'retry($1, $2, $3::bigint[], $4::text[], $5)', [
        lease.key,
        lease.token,
        records.map((r) => r.seq),
        records.map((r) => encodeRecord(r)),
        Math.max(0, delayMs),
      ]),
    bury: (lease, letters, options) =>
      flag('bury', 'bury($1, $2, $3::bigint[], $4::text[], $5)', [
        lease.key,
        lease.token,
        letters.map((l) => l.seq),
        letters.map((l) => encodeRecord(l)),
        options?.release === true,
      ]),
    renew: (lease, leaseMs) =>
      flag('renew', 'renew($1, $2, $3)', [lease.key, lease.token, leaseMs]),
    release: (lease) => flag('release', 'release($1, $2)', [lease.key, lease.token]),
    requeueDeadLetters: () =>
      transaction('requeueDeadLetters', async (client) => {
        const gone = await client.query<{ seq: string; body: string }>(
          `DELETE FROM ${s}.dead RETURNING seq, body`,
        );
        const letters = gone.rows
          .map((r) => decodeDeadLetter(Number(r.seq), r.body))
          .sort((a, b) => a.seq - b.seq);
        if (letters.length === 0) return 0;
        const fresh = letters.map((letter) => revive(letter, 0));
        await client.query(`SELECT ${s}.append($1::text[], $2::text[])`, [
          fresh.map((r) => r.key),
          fresh.map((r) => encodeRecord(r)),
        ]);
        return letters.length;
      }),
    async stats(): Promise<SharedBacklogStats> {
      const [counts] = await query<{ dead: string; leased: string; oldest: number | null }>(
        'stats',
        `SELECT (SELECT count(*) FROM ${s}.dead) AS dead,
           (SELECT count(*) FROM ${s}.keys WHERE pending > 0 AND lease_until > clock_timestamp()) AS leased,
           (SELECT min((body::json->>'enqueuedAt')::float8) FROM ${s}.records) AS oldest`,
      );
      const keys = await query<{ key: string; pending: number }>(
        'stats by key',
        `SELECT key, pending FROM ${s}.keys WHERE pending > 0 ORDER BY key`,
      );
      const byKey: Record<string, number> = {};
      let pending = 0;
      for (const row of keys) {
        byKey[row.key] = row.pending;
        pending += row.pending;
      }
      return {
        pending,
        deadLetters: Number(counts?.dead ?? 0),
        byKey,
        oldestEnqueuedAt: counts?.oldest ?? undefined,
        leased: Number(counts?.leased ?? 0),
      };
    },
    async list(options = {}) {
      const rows = await query<{ seq: string; key: string; lost_leases: number; body: string }>(
        'list',
        `SELECT seq, key, lost_leases, body FROM ${s}.records
         WHERE ($1::text IS NULL OR key = $1) ORDER BY seq LIMIT $2`,
        [options.key ?? null, options.limit ?? null],
      );
      return rows.map((r) => readRecord(Number(r.seq), r.body, r.lost_leases, r.key));
    },
    async deadLetters(options = {}): Promise<DeadLetter[]> {
      const rows = await query<{ seq: string; body: string }>(
        'deadLetters',
        `SELECT seq, body FROM ${s}.dead ORDER BY seq LIMIT $1`,
        [options.limit ?? null],
      );
      return rows.map((r) => decodeDeadLetter(Number(r.seq), r.body));
    },
    purge: () =>
      transaction('purge', async (client) => {
        const records = await client.query(`DELETE FROM ${s}.records`);
        const dead = await client.query(`DELETE FROM ${s}.dead`);
        await client.query(`DELETE FROM ${s}.keys`);
        return (records.rowCount ?? 0) + (dead.rowCount ?? 0);
      }),
    async close() {
      if (closed) return;
      closed = true;
      await this.flush();
      await settings.ended();
    },
  };
}
