import pg from 'pg';
import { afterEach, describe, it } from 'vitest';
import type { SyncWorker } from '../../src/index.js';
import { postgresBacklog } from '../../src/postgres/index.js';
import { expectCutLosesNothing, expectFleetKeepsOrder } from '../shared/fleet.js';
import { dropSchema, freshSchema, postgresUrl, skipPostgres } from '../support/postgres.js';

const started: SyncWorker[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const worker of started.splice(0)) await worker.shutdown({ timeoutMs: 1_000 });
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

/** A connection string whose connections the test can find (and cut) by application name. */
function urlFor(app: string): string {
  const url = new URL(postgresUrl());
  url.searchParams.set('application_name', app);
  return url.href;
}

/** Ends, from the server's side, every connection of `app`: what a server restart does to them. */
async function cutConnections(app: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    const cut = await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [app],
    );
    return cut.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

describe.skipIf(skipPostgres)('workers on PostgreSQL', () => {
  it('deliver every task once, per key in order, across two workers', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const store = () => postgresBacklog({ connectionString: postgresUrl(), schema });
    await expectFleetKeepsOrder(store, (worker) => started.push(worker));
  });

  it('loses no accepted task when the server drops every connection mid-run', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const app = `xsw-cut-${process.pid}`;
    await expectCutLosesNothing(
      postgresBacklog({ connectionString: urlFor(app), schema }),
      () => cutConnections(app),
      () => postgresBacklog({ connectionString: postgresUrl(), schema }),
      (worker) => started.push(worker),
    );
  });
});
