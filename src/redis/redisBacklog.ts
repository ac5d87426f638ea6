import { Redis } from 'ioredis';
import { BacklogError } from '../errors/BacklogError.js';
import { optionNames, refuseUnknownOptions } from '../optionNames.js';
import type { SharedBacklog, SharedBacklogStore, SharedOpenOptions } from '../shared/types.js';
import { storeError } from './errors.js';
import { OPEN } from './luaAdmin.js';
import { LuaScript } from './scripts.js';
import { redisSession } from './session.js';

/** Options of {@link redisBacklog}: exactly one of `client` and `url`. */
export interface RedisBacklogOptions {
  /**
   * An ioredis client of yours: the store sends its scripts on it and never
   * closes it. Give it an `'error'` listener (ioredis emits connection errors
   * there), keep `maxRetriesPerRequest` small, so an outage is reported
   * instead of queued, and leave `autoResendUnfulfilledCommands` on (off,
   * ioredis 6 never settles a command whose connection broke).
   */
  client?: Redis;
  /**
   * A `redis://` or `rediss://` URL: the store makes its own client (5 s
   * connect timeout, one retry per command, a command whose answer a broken
   * connection lost sent again, 10 s command timeout) and closes it when the
   * last session closes.
   */
  url?: string;
  /**
   * The prefix of every key the store uses, so several stores (or other data)
   * can share one database. Default `xsw:`.
   */
  prefix?: string;
}

const OWNER = 'redisBacklog';
const OPTION_NAMES = optionNames<RedisBacklogOptions>()(['client', 'url', 'prefix']);
/** The default key prefix. */
export const DEFAULT_PREFIX = 'xsw:';
/** The version of the key layout (lua.ts) this release writes; open refuses a newer one. */
export const LAYOUT_VERSION = 1;
const OPEN_SCRIPT = new LuaScript(OPEN);

interface Settings {
  client: Redis | undefined;
  url: string | undefined;
  prefix: string;
}

function settingsOf(options: unknown): Settings {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${OWNER}: options must be an object with client or url`);
  }
  const o = options as Partial<Record<keyof RedisBacklogOptions, unknown>>;
  refuseUnknownOptions(OWNER, o, OPTION_NAMES);
  if ((o.client === undefined) === (o.url === undefined)) {
    throw new TypeError(`${OWNER}: give exactly one of client and url`);
  }
  if (o.client !== undefined && !(o.client instanceof Redis)) {
    throw new TypeError(
      `${OWNER}: client must be an ioredis Redis client (Cluster is not supported)`,
    );
  }
  if (o.url !== undefined && (typeof o.url !== 'string' || !/^rediss?:\/\//.test(o.url))) {
    throw new TypeError(`${OWNER}: url must be a redis:// or rediss:// URL`);
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix === '')) {
    throw new TypeError(
      `${OWNER}: prefix must be a non-empty string, got ${JSON.stringify(o.prefix)}`,
    );
  }
  return {
    client: o.client as Redis | undefined,
    url: o.url as string | undefined,
    prefix: (o.prefix as string | undefined) ?? DEFAULT_PREFIX,
  };
}

/** Where the store is, for messages: host, port, database and prefix, never the password. */
function locationOf(settings: Settings): string {
  const options = settings.client?.options ?? {};
  let where = `${options.host ?? 'localhost'}:${options.port ?? 6379}/${options.db ?? 0}`;
  if (settings.url !== undefined) {
    try {
      const url = new URL(settings.url);
      where = `${url.hostname}:${url.port || 6379}${url.pathname.length > 1 ? url.pathname : '/0'}`;
    } catch {
      where = 'unparsed-url';
    }
  }
  return `redis://${where}#${settings.prefix}`;
}

/** The client the store makes from a URL: an outage rejects commands at once instead of queueing them. */
function ownClient(url: string): Redis {
  const client = new Redis(url, {
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    // A command whose answer a broken connection lost is sent again once it reconnects (ioredis 6
    // drops such commands unsettled otherwise). Every script is safe to run twice, except that a
    // repeated append stores its records twice under the same ids, and a repeated claim leaves a
    // lease that expires unused; a timeout bounds a command that never gets an answer.
    commandTimeout: 10_000,
    lazyConnect: true,
  });
  // Connection errors are also each command's rejection; unheard here they would crash the process.
  client.on('error', () => undefined);
  return client;
}

/**
 * Refuses a server that may evict keys: an evicted record is a task lost
 * without a trace. Read from INFO, since managed Redis often disables CONFIG.
 */
async function requireNoEviction(client: Redis, location: string): Promise<void> {
  const info = await client.info('memory');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (policy !== 'noeviction') {
    throw new BacklogError(
      location,
      `backlog ${location}: the server's maxmemory-policy is ${policy ?? 'unknown'}, so it may evict the backlog's keys and lose tasks; set maxmemory-policy noeviction`,
    );
  }
}

/**
 * A shared backlog in Redis, for a fleet of workers and producers (the
 * protocol: `SharedBacklogStore`), every operation one Lua script. Each
 * `open` starts a session; the first stamps the key layout's version, and a
 * store written by a newer version is refused. `open` also refuses a server
 * whose `maxmemory-policy` is not `noeviction`. Durability is the server's:
 * see README "Running a fleet".
 *
 * @throws TypeError naming a missing, unknown or malformed option.
 */
export function redisBacklog(options: RedisBacklogOptions): SharedBacklogStore {
  const settings = settingsOf(options);
  const location = locationOf(settings);
  let owned: Redis | undefined;
  let sessions = 0;
  let checked = false;

  const clientFor = (): Redis => {
    if (settings.client !== undefined) return settings.client;
    owned ??= ownClient(settings.url as string);
    return owned;
  };
  const prepare = async (client: Redis): Promise<void> => {
    if (client.status === 'wait') await client.connect();
    if (checked) return;
    await requireNoEviction(client, location);
    const stored = Number(await OPEN_SCRIPT.run(client, [settings.prefix, LAYOUT_VERSION]));
    if (stored > LAYOUT_VERSION) {
      throw new BacklogError(
        location,
        `backlog ${location}: its key layout is version ${stored}, newer than this release's ${LAYOUT_VERSION}; upgrade xstate-sync-worker`,
      );
    }
    checked = true;
  };
  const ended = async (): Promise<void> => {
    sessions--;
    if (sessions > 0 || owned === undefined) return;
    const client = owned;
    owned = undefined;
    await client.quit().catch(() => client.disconnect());
  };

  return {
    kind: 'shared',
    location,
    async open(openOptions: SharedOpenOptions = {}): Promise<SharedBacklog> {
      const client = clientFor();
      sessions++;
      try {
        await prepare(client);
      } catch (error) {
        await ended();
        throw storeError(location, 'open', error);
      }
      return redisSession({
        client,
        location,
        prefix: settings.prefix,
        options: openOptions,
        ended,
      });
    },
  };
}
