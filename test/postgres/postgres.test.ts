import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { BacklogError, BacklogUnavailableError, RECORD_FORMAT } from '../../src/index.js';
import { postgresBacklog, SCHEMA_VERSION } from '../../src/postgres/index.js';
import type { SharedBacklog } from '../../src/shared/types.js';
import { dropSchema, freshSchema, postgresUrl, skipPostgres } from '../support/postgres.js';

const schemas: string[] = [];
const sessions: SharedBacklog[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.close();
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});
function schema(): string {
  const name = freshSchema();
  schemas.push(name);
  return name;
}
async function query<R extends pg.QueryResultRow>(sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('postgresBacklog options', () => {
  it('refuses unknown, missing and malformed options by name', () => {
    expect(() =>
      postgresBacklog({ connectionString: 'postgres://x/y', schma: 'a' } as never),
    ).toThrow(/an unknown option "schma" \(did you mean "schema"\?\)/);
    expect(() => postgresBacklog({} as never)).toThrow(/exactly one of pool and connectionString/);
    expect(() => postgresBacklog({ connectionString: 'mysql://x' })).toThrow(/postgres:\/\/ URL/);
    expect(() => postgresBacklog({ connectionString: 'postgres://x/y', schema: 'a;drop' })).toThrow(
      /schema must be a plain SQL name/,
    );
    expect(() => postgresBacklog({ pool: {} as pg.Pool })).toThrow(/pool must be a pg.Pool/);
  });

  it('names its location without the password', () => {
    const store = postgresBacklog({ connectionString: 'postgres://me:secret@db.example:6543/app' });
    expect(store.location).toBe('postgres://db.example:6543/app#xstate_sync_worker');
  });

  it('rejects with a BacklogUnavailableError when no server listens', async () => {
    const store = postgresBacklog({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    await expect(store.open()).rejects.toBeInstanceOf(BacklogUnavailableError);
  });
});

describe.skipIf(skipPostgres)('postgresBacklog on a real server', () => {
  it('creates its schema once when many instances open at once, under a transaction lock', async () => {
    const name = schema();
    const stores = Array.from({ length: 6 }, () =>
      postgresBacklog({ connectionString: postgresUrl(), schema: name }),
    );
    const opened = await Promise.all(stores.map((store) => store.open()));
    sessions.push(...opened);
    const [version] = await query<{ value: string }>(
      `SELECT value FROM "${name}".meta WHERE name = 'version'`,
    );
    expect(Number(version?.value)).toBe(SCHEMA_VERSION);
    // No session advisory lock is left behind (a pooler would break one).
    const locks = await query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = ${0x5857}
         AND objid = ((hashtext('${name}')::bigint & 4294967295)::text)::oid`,
    );
    expect(locks).toEqual([]);
  });

  it('keeps records in the documented format, and the key table has its own autovacuum', async () => {
    const name = schema();
    const session = await postgresBacklog({ connectionString: postgresUrl(), schema: name }).open();
    sessions.push(session);
    await session.append([
      { id: 'a', key: 'k', handler: 'send', payload: { n: 1 }, attempts: 0, enqueuedAt: 5 },
    ]);
    const [row] = await query<{ body: string; key: string }>(
      `SELECT key, body FROM "${name}".records`,
    );
    expect(row?.key).toBe('k');
    expect(JSON.parse(row?.body ?? '{}')).toMatchObject({
      v: RECORD_FORMAT,
      id: 'a',
      payload: { n: 1 },
    });
    const [options] = await query<{ reloptions: string[] }>(
      `SELECT reloptions FROM pg_class WHERE oid = '"${name}".keys'::regclass`,
    );
    expect(options?.reloptions).toContain('autovacuum_vacuum_scale_factor=0');
  });

  it('borrows from a pool it is given, and leaves it open when its sessions close', async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl(), max: 2 });
    pool.on('error', () => undefined);
    try {
      const store = postgresBacklog({ pool, schema: schema() });
      const session = await store.open();
      await session.append([
        { id: 'a', key: 'k', handler: 'send', payload: {}, attempts: 0, enqueuedAt: 5 },
      ]);
      await session.close();
      expect((await pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await pool.end();
    }
  });

  it('refuses a schema newer than it knows', async () => {
    const name = schema();
    sessions.push(await postgresBacklog({ connectionString: postgresUrl(), schema: name }).open());
    await query(`UPDATE "${name}".meta SET value = '${SCHEMA_VERSION + 1}' WHERE name = 'version'`);
    const later = postgresBacklog({ connectionString: postgresUrl(), schema: name });
    await expect(later.open()).rejects.toThrow(/newer than this xstate-sync-worker/);
  });

  it('refuses a connection with synchronous_commit off: a commit would not mean the WAL is flushed', async () => {
    const url = new URL(postgresUrl());
    url.searchParams.set('options', '-c synchronous_commit=off');
    const store = postgresBacklog({ connectionString: url.href, schema: schema() });
    const refusal = store.open();
    await expect(refusal).rejects.toBeInstanceOf(BacklogError);
    await expect(refusal).rejects.toThrow(/synchronous_commit is off/);
  });

  it('reads a row it cannot decode as a record for no handler, so a worker buries it', async () => {
    const name = schema();
    const session = await postgresBacklog({ connectionString: postgresUrl(), schema: name }).open();
    sessions.push(session);
    await session.append([
      { id: 'a', key: 'k', handler: 'send', payload: {}, attempts: 0, enqueuedAt: 5 },
    ]);
    await query(`UPDATE "${name}".records SET body = 'not json'`);
    const claim = await session.claim({ limit: 1, leaseMs: 60_000 });
    expect(claim?.records[0]).toMatchObject({ handler: '', payload: 'not json' });
    expect(claim?.records[0]?.lastError).toMatch(/could not be read/);
  });
});
