import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BacklogError, BacklogUnavailableError, RECORD_FORMAT } from '../../src/index.js';
import { LAYOUT_VERSION, redisBacklog } from '../../src/redis/index.js';
import { APPEND, CLAIM } from '../../src/redis/lua.js';
import { LuaScript } from '../../src/redis/scripts.js';
import type { SharedBacklog } from '../../src/shared/types.js';
import { redisPrefixes } from '../support/redis.js';
import { describeWithServers, requireServerUrl, startPrivateRedis } from '../support/servers.js';

const sessions: SharedBacklog[] = [];
const prefixes = redisPrefixes('redis-test');
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.close();
  await prefixes.drop();
});

const prefix = () => prefixes.next();

const task = (id: string, key = 'k') => ({
  id,
  key,
  handler: 'send',
  payload: { id },
  attempts: 0,
  enqueuedAt: 1,
});

describe('redisBacklog options', () => {
  it('refuses unknown, missing and malformed options by name', () => {
    expect(() => redisBacklog({ url: 'redis://x', prefx: 'a' } as never)).toThrow(
      /an unknown option "prefx" \(did you mean "prefix"\?\)/,
    );
    expect(() => redisBacklog({} as never)).toThrow(/exactly one of client and url/);
    expect(() => redisBacklog({ url: 'http://x' })).toThrow(/redis:\/\/ or rediss:\/\/ URL/);
    expect(() => redisBacklog({ url: 'redis://x', prefix: '' })).toThrow(
      /prefix must be a non-empty string/,
    );
    expect(() => redisBacklog({ client: {} as Redis })).toThrow(
      /client must be an ioredis Redis client/,
    );
  });

  it('names its location without the password', () => {
    const store = redisBacklog({ url: 'redis://me:secret@cache.example:6380/2' });
    expect(store.location).toBe('redis://cache.example:6380/2#xsw:');
  });

  it('rejects with a BacklogUnavailableError when no server listens', async () => {
    const store = redisBacklog({ url: 'redis://127.0.0.1:1' });
    await expect(store.open()).rejects.toBeInstanceOf(BacklogUnavailableError);
  });
});

describeWithServers(['redis'], 'redisBacklog on a real server', () => {
  it('stamps its layout version once when many instances open at once', async () => {
    const name = prefix();
    const url = requireServerUrl('redis');
    const opened = await Promise.all(
      Array.from({ length: 6 }, () => redisBacklog({ url, prefix: name }).open()),
    );
    sessions.push(...opened);
    const client = new Redis(url);
    expect(await client.hget(`${name}meta`, 'version')).toBe(String(LAYOUT_VERSION));
    await client.quit();
  });

  it('refuses a store written by a newer version', async () => {
    const name = prefix();
    const url = requireServerUrl('redis');
    const client = new Redis(url);
    await client.hset(`${name}meta`, 'version', LAYOUT_VERSION + 1);
    await client.quit();
    const opening = redisBacklog({ url, prefix: name }).open();
    await expect(opening).rejects.toThrow(/key layout is version 2, newer than this release's 1/);
    await expect(opening).rejects.toBeInstanceOf(BacklogError);
  });

  it("works on a client of the user's, which it leaves open", async () => {
    const client = new Redis(requireServerUrl('redis'));
    const session = await redisBacklog({ client, prefix: prefix() }).open();
    await session.append([task('mine')]);
    await session.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('sends a script again when the server has forgotten it (SCRIPT FLUSH, a restart)', async () => {
    const url = requireServerUrl('redis');
    const session = await redisBacklog({ url, prefix: prefix() }).open();
    sessions.push(session);
    await session.append([task('before')]);
    const admin = new Redis(url);
    await admin.script('FLUSH');
    await admin.quit();
    await session.append([task('after')]);
    expect((await session.list()).map((r) => r.id)).toEqual(['before', 'after']);
  });

  it('applies an append or claim sent twice (ioredis resends after a broken connection) once', async () => {
    const name = prefix();
    const client = new Redis(requireServerUrl('redis'));
    await redisBacklog({ client, prefix: name }).open();
    const append = new LuaScript(APPEND);
    const body = JSON.stringify({ v: RECORD_FORMAT, ...task('once') });
    const first = await append.run(client, [name, 'w1', 'n1', 'k', body]);
    expect(await append.run(client, [name, 'w1', 'n1', 'k', body])).toEqual(first);
    expect(await client.hlen(`${name}rec`)).toBe(1);
    await append.run(client, [name, 'w1', 'n2', 'j', body]);
    const claim = new LuaScript(CLAIM);
    const lease = (await claim.run(client, [name, 'w1', 1, 60_000, 'n3'])) as unknown[];
    expect(await claim.run(client, [name, 'w1', 1, 60_000, 'n3'])).toEqual(lease);
    // A new claim of the same session takes the next key; the first lease is still its own.
    const next = (await claim.run(client, [name, 'w1', 1, 60_000, 'n4'])) as unknown[];
    expect([lease[0], next[0]]).toEqual(['k', 'j']);
    await client.quit();
  });

  it('hands out a record it cannot read under no handler, so a worker buries it', async () => {
    const name = prefix();
    const url = requireServerUrl('redis');
    const session = await redisBacklog({ url, prefix: name }).open();
    sessions.push(session);
    const [stored] = await session.append([task('fine')]);
    const client = new Redis(url);
    await client.hset(`${name}rec`, String(stored?.seq), '{not json');
    await client.quit();
    const claim = await session.claim({ limit: 1, leaseMs: 60_000 });
    expect(claim?.records[0]).toMatchObject({
      handler: '',
      id: `corrupt-${stored?.seq}`,
      key: 'k',
    });
    expect(claim?.records[0]?.lastError).toMatch(/could not be read/);
  });
});

describeWithServers(['redis'], 'redisBacklog on a server that may evict', () => {
  it('refuses to open where maxmemory-policy is not noeviction, naming the policy', async () => {
    const server = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru']);
    try {
      const opening = redisBacklog({ url: server.url }).open();
      await expect(opening).rejects.toThrow(
        /maxmemory-policy is allkeys-lru.*set maxmemory-policy noeviction/,
      );
      await expect(opening).rejects.toBeInstanceOf(BacklogError);
      const client = new Redis(server.url);
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      await client.quit();
      const session = await redisBacklog({ url: server.url }).open();
      await session.close();
    } finally {
      await server.stop();
    }
  });
});
