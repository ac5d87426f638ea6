import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import type { SyncWorker } from '../../src/index.js';
import { redisBacklog } from '../../src/redis/index.js';
import { DeliveryLog, expectCutLosesNothing, fleetWorker } from '../shared/fleet.js';
import { describeWithServers, requireServerUrl } from '../support/servers.js';

const started: SyncWorker[] = [];
const prefixes: string[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const worker of started.splice(0)) await worker.shutdown({ timeoutMs: 1_000 });
  for (const client of clients.splice(0)) client.disconnect();
  const client = new Redis(requireServerUrl('redis'));
  for (const prefix of prefixes.splice(0)) {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  }
  await client.quit();
});

let made = 0;
function prefix(): string {
  made++;
  const name = `xsw-worker-test:${process.pid}:${made}:`;
  prefixes.push(name);
  return name;
}

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
    const log = new DeliveryLog();
    const producer = fleetWorker('api', store(), log, () => undefined, { producerOnly: true });
    const w1 = fleetWorker('w1', store(), log, () => undefined, { concurrency: 2 });
    const w2 = fleetWorker('w2', store(), log, () => undefined, { concurrency: 2 });
    started.push(producer.worker, w1.worker, w2.worker);
    for (let i = 0; i < 200; i++) {
      producer.worker.enqueue({ handler: 'send', key: `k${i % 10}`, id: `t${i}`, payload: { i } });
    }
    await producer.worker.flush();
    await log.reached(200);
    await Promise.all([w1.worker.onIdle(), w2.worker.onIdle()]);
    expect(new Set(log.entries.map((e) => e.id)).size).toBe(200);
    for (let k = 0; k < 10; k++) {
      expect(log.idsOf(`k${k}`)).toEqual(Array.from({ length: 20 }, (_, n) => `t${n * 10 + k}`));
    }
    const session = await store().open();
    expect(await session.stats()).toMatchObject({ pending: 0, leased: 0 });
    await session.close();
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
