import { Redis } from 'ioredis';
import { requireServerUrl } from './servers.js';

/**
 * Key prefixes of a Redis test file, each store under its own, deleted from
 * the server after each test: `next()` in a test, `drop()` in `afterEach`.
 */
export function redisPrefixes(label: string): { next(): string; drop(): Promise<void> } {
  const made: string[] = [];
  let count = 0;
  return {
    next() {
      count++;
      const name = `xsw-${label}:${process.pid}:${count}:`;
      made.push(name);
      return name;
    },
    async drop() {
      if (made.length === 0) return;
      const client = new Redis(requireServerUrl('redis'));
      for (const prefix of made.splice(0)) {
        const keys = await client.keys(`${prefix}*`);
        if (keys.length > 0) await client.del(...keys);
      }
      await client.quit();
    },
  };
}
