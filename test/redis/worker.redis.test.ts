import { Redis } from 'ioredis';
import { afterEach, it } from 'vitest';
import type { SyncWorker } from '../../src/index.js';
import { redisBacklog } from '../../src/redis/index.js';
import { expectCutLosesNothing, expectFleetKeepsOrder } from '../shared/fleet.js';
import { redisPrefixes } from '../support/redis.js';
import { describeWithServers, requireServerUrl } from '../support/servers.js';

const started: SyncWorker[] = [];
const prefixes = redisPrefixes('worker-test');
const clients: Redis[] = [];
afterEach(async () => {
  for (const worker of started.splice(0)) await worker.shutdown({ timeoutMs: 1_000 });
  for (const client of clients.splice(0)) client.disconnect();
  await prefixes.drop();
});

const prefix = () => prefixes.next();

/** Ends, from the server's side, every connection named `name`: what a server restart does to them. */
async function cutConnections(name: string): Promise<number> {
  const admin = new Redis(requireServerUrl('redis'));
  try {
    const list = String(await admin.client('LIST'));
    const ids = [...list.matchAll(/^id=(\d+) .*\bname=(\S*)/gm)]
      .filter((match) => match[2] === name)
      .map((match) => match[1] as string);
    for (const id of ids) await admin.client('KILL', 'ID', id);
    return ids.length;
  } finally {
    await admin.quit();
  }
}

describeWithServers(['redis'], 'workers on Redis', () => {
  it('deliver every task once, per key in order, across two workers and a producer', async () => {
    const name = prefix();
    const store = () => redisBacklog({ url: requireServerUrl('redis'), prefix: name });
    await expectFleetKeepsOrder(store, (worker) => started.push(worker));
  });

  it('loses no accepted task when the server drops its connection mid-run', async () => {
    const name = prefix();
    const connectionName = `xsw-cut-${process.pid}`;
    const client = new Redis(requireServerUrl('redis'), {
      connectionName,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => undefined);
    clients.push(client);
    await expectCutLosesNothing(
      redisBacklog({ client, prefix: name }),
      () => cutConnections(connectionName),
      () => redisBacklog({ url: requireServerUrl('redis'), prefix: name }),
      (worker) => started.push(worker),
    );
  });
});
