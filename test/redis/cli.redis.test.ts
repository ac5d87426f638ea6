import { afterEach, expect, it } from 'vitest';
import { redisBacklog } from '../../src/redis/index.js';
import { cli, seedForCli } from '../support/cli.js';
import { redisPrefixes } from '../support/redis.js';
import { describeWithServers, requireServerUrl } from '../support/servers.js';

const prefixes = redisPrefixes('cli-test');
afterEach(async () => {
  await prefixes.drop();
});

/** A store under its own prefix, named by URL the way the CLI takes it (`?prefix=`). */
async function seeded(): Promise<string> {
  const prefix = prefixes.next();
  const url = new URL(requireServerUrl('redis'));
  url.searchParams.set('prefix', prefix);
  const session = await redisBacklog({ url: requireServerUrl('redis'), prefix }).open();
  await seedForCli(session);
  return url.href;
}

describeWithServers(['redis'], 'the CLI on a Redis backlog (real server)', () => {
  it('reads stats, lists and exports, requeues dead letters and purges', async () => {
    const target = await seeded();
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

it('masks the password of a redis:// URL in its messages', async () => {
  const run = await cli('backlog', 'redis://me:secret@localhost:6379', 'purge');
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('redis://me:***@localhost:6379');
  expect(run.stderr).not.toContain('secret');
});
