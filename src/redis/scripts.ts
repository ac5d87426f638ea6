import type { Redis } from 'ioredis';

/**
 * A Lua script run by its SHA1 (EVALSHA). Its SHA1 is learned from the first
 * server that loads it (SCRIPT LOAD), so this needs no hashing of its own.
 */
export class LuaScript {
  #sha: string | undefined;

  constructor(readonly source: string) {}

  /**
   * Runs the script with no KEYS and `args` as ARGV. A server that has not
   * seen it (a fresh one, a restart, SCRIPT FLUSH, a failover) answers
   * NOSCRIPT; then the source is sent with EVAL, which also caches it there.
   */
  async run(client: Redis, args: readonly (string | number)[]): Promise<unknown> {
    this.#sha ??= String(await client.script('LOAD', this.source));
    try {
      return await client.evalsha(this.#sha, 0, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, 0, ...args);
    }
  }
}
