import pg from 'pg';
import { BacklogError } from '../errors/BacklogError.js';
import { optionNames, refuseUnknownOptions } from '../optionNames.js';
import type { SharedBacklog, SharedBacklogStore, SharedOpenOptions } from '../shared/types.js';
import { storeError } from './errors.js';
import { migrate } from './migrate.js';
import { quoteIdent } from './schema.js';
import { postgresSession } from './session.js';

/** Options of {@link postgresBacklog}: exactly one of `pool` and `connectionString`. */
export interface PostgresBacklogOptions {
  /**
   * A `pg.Pool` of yours: the store borrows clients from it and never ends
   * it. Give it an `'error'` listener (pg emits idle clients' errors there;
   * without one, a server restart crashes the process).
   */
  pool?: pg.Pool;
  /**
   * A connection string (`postgres://user:pass@host:5432/db`): the store
   * makes its own pool (up to 10 connections, 5 s connect timeout, 10 s
   * query timeout, TCP keep-alive) and ends it when the last session closes.
   */
  connectionString?: string;
  /** The schema holding the store's tables; created on first open. Default `xstate_sync_worker`. */
  schema?: string;
}

const OWNER = 'postgresBacklog';
const OPTION_NAMES = optionNames<PostgresBacklogOptions>()(['pool', 'connectionString', 'schema']);
/** The default schema name. */
export const DEFAULT_SCHEMA = 'xstate_sync_worker';
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

interface Settings {
  pool: pg.Pool | undefined;
  connectionString: string | undefined;
  schema: string;
}

function settingsOf(options: unknown): Settings {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${OWNER}: options must be an object with pool or connectionString`);
  }
  const o = options as Partial<Record<keyof PostgresBacklogOptions, unknown>>;
  refuseUnknownOptions(OWNER, o, OPTION_NAMES);
  if ((o.pool === undefined) === (o.connectionString === undefined)) {
    throw new TypeError(`${OWNER}: give exactly one of pool and connectionString`);
  }
  if (o.pool !== undefined && !(o.pool instanceof pg.Pool)) {
    throw new TypeError(`${OWNER}: pool must be a pg.Pool`);
  }
  if (
    o.connectionString !== undefined &&
    (typeof o.connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(o.connectionString))
  ) {
    throw new TypeError(`${OWNER}: connectionString must be a postgres:// URL`);
  }
  if (o.schema !== undefined && (typeof o.schema !== 'string' || !SCHEMA_NAME.test(o.schema))) {
    throw new TypeError(
      `${OWNER}: schema must be a plain SQL name (letters, digits, _; at most 63), got ${JSON.stringify(o.schema)}`,
    );
  }
  return {
    pool: o.pool as pg.Pool | undefined,
    connectionString: o.connectionString as string | undefined,
    schema: (o.schema as string | undefined) ?? DEFAULT_SCHEMA,
  };
}

/** Where the store is, for messages: host, port, database and schema, never the password. */
function locationOf(settings: Settings): string {
  const options = (settings.pool as { options?: pg.PoolConfig } | undefined)?.options ?? {};
  let where = `${options.host ?? 'localhost'}:${options.port ?? 5432}/${options.database ?? ''}`;
  if (settings.connectionString !== undefined) {
    try {
      const url = new URL(settings.connectionString);
      where = `${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      where = 'unparsed-url';
    }
  }
  return `postgres://${where}#${settings.schema}`;
}

/**
 * A shared backlog in PostgreSQL, for a fleet of workers and producers (the
 * protocol: `SharedBacklogStore`). Each `open` starts a session; the schema is
 * created or migrated by the first (see `schema.ts` for its tables and the
 * record format). An append resolves once its transaction is committed with
 * its WAL flushed: `open` refuses a server with `synchronous_commit = off`.
 *
 * @throws TypeError naming a missing, unknown or malformed option.
 */
export function postgresBacklog(options: PostgresBacklogOptions): SharedBacklogStore {
  const settings = settingsOf(options);
  const location = locationOf(settings);
  const quoted = quoteIdent(settings.schema);
  let owned: pg.Pool | undefined;
  let sessions = 0;
  let migrated = false;

  const poolFor = (): pg.Pool => {
    if (settings.pool !== undefined) return settings.pool;
    if (owned === undefined) {
      owned = new pg.Pool({
        connectionString: settings.connectionString,
        max: 10,
        connectionTimeoutMillis: 5_000,
        // A cut network may drop packets without a reset: no answer in 10 s counts as unreachable.
        query_timeout: 10_000,
        keepAlive: true,
      });
      // Idle clients' errors (a server restart) would otherwise be thrown; the next query reconnects.
      owned.on('error', () => undefined);
    }
    return owned;
  };
  const prepare = async (pool: pg.Pool): Promise<void> => {
    const client = await pool.connect();
    try {
      const commit = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      if (commit.rows[0]?.synchronous_commit === 'off') {
        throw new BacklogError(
          location,
          `backlog ${location}: synchronous_commit is off, so a commit would not mean the WAL is flushed and flush() could not keep its promise; set it to on for this database or role`,
        );
      }
      if (!migrated) await migrate(client, settings.schema, quoted, location);
      migrated = true;
    } finally {
      client.release();
    }
  };
  const ended = async (): Promise<void> => {
    sessions--;
    if (sessions > 0 || owned === undefined) return;
    const pool = owned;
    owned = undefined;
    await pool.end();
  };

  return {
    kind: 'shared',
    location,
    async open(openOptions: SharedOpenOptions = {}): Promise<SharedBacklog> {
      const pool = poolFor();
      sessions++;
      try {
        await prepare(pool);
      } catch (error) {
        await ended();
        throw storeError(location, 'open', error);
      }
      return postgresSession({ pool, location, schema: quoted, options: openOptions, ended });
    },
  };
}
