import { afterEach, describe, expect, it } from 'vitest';
import { postgresBacklog } from '../../src/postgres/index.js';
import { cli, seedForCli } from '../support/cli.js';
import { dropSchema, freshSchema, postgresUrl, skipPostgres } from '../support/postgres.js';

const schemas: string[] = [];
afterEach(async () => {
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

/** A store in its own schema, named by URL the way the CLI takes it (`?schema=`). */
async function seeded() {
  const schema = freshSchema();
  schemas.push(schema);
  const url = new URL(postgresUrl());
  url.searchParams.set('schema', schema);
  const store = postgresBacklog({ connectionString: postgresUrl(), schema });
  const session = await store.open();
  await seedForCli(session);
  return { url: url.href };
}

describe('the CLI on a PostgreSQL backlog', () => {
  it('refuses a URL scheme it has no store for', async () => {
    const run = await cli('backlog', 'mysql://localhost/db', 'stats');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no shared store for mysql:\/\/ URLs/);
  });

  it('refuses to purge without --yes, with the password masked', async () => {
    const run = await cli('backlog', 'postgres://me:secret@localhost/db', 'purge');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('postgres://me:***@localhost/db');
    expect(run.stderr).not.toContain('secret');
  });
});

describe.skipIf(skipPostgres)('the CLI on a PostgreSQL backlog (real server)', () => {
  it('reads stats, lists and exports, requeues dead letters and purges', async () => {
    const { url: target } = await seeded();
    const stats = await cli('backlog', target, 'stats', '--json');
    expect(stats.stderr).toBe('');
    expect(JSON.parse(stats.stdout)).toMatchObject({
      pending: 2,
      deadLetters: 1,
      byKey: { k1: 1, k2: 1 },
    });
    const list = await cli('backlog', target, 'list');
    expect(list.stdout).toMatch(/KEY[\s\S]*k1[\s\S]*b[\s\S]*k2[\s\S]*c/);
    const dead = await cli('backlog', target, 'export', '--dead');
    expect(JSON.parse(dead.stdout.trim())).toMatchObject({ id: 'a', reason: 'rejected' });
    const requeued = await cli('backlog', target, 'requeue-dead');
    expect(requeued.stdout).toMatch(/requeued 1 dead letter/);
    const purged = await cli('backlog', target, 'purge', '--yes');
    expect(purged.stdout).toMatch(/purged 3 records \(3 pending tasks, 0 dead letters\)/);
  });
});
