import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { redisBacklog } from '../../src/redis/index.js';
import { missingServerHint, serverPlan, serverUrl } from '../support/servers.js';
import { sharedStoreContract } from './contract.js';

const plan = serverPlan(['redis']);
if (!plan.run && !plan.fail) console.info(`skipping the Redis contract tests: ${plan.reason}`);

let made = 0;
sharedStoreContract(
  'redis',
  async () => {
    const url = serverUrl('redis');
    if (url === undefined)
      throw new Error(`CI runs the Redis tests, but ${missingServerHint('redis')}`);
    made++;
    const prefix = `xsw-test:${process.pid}:${made}:`;
    const store = redisBacklog({ url, prefix });
    return {
      store,
      // The server's clock is the only one a lease follows: time has to pass for real.
      advance: (ms: number) => delay(ms),
      cleanup: async () => {
        const client = new Redis(url);
        const keys = await client.keys(`${prefix}*`);
        if (keys.length > 0) await client.del(...keys);
        await client.quit();
      },
    };
  },
  { skip: !plan.run && !plan.fail },
);
