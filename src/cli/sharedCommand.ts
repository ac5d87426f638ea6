import type { SharedBacklog, SharedBacklogStore } from '../shared/types.js';
import { CliError, EXIT, type Parsed, PROGRAM } from './args.js';
import { type CliStore, runCommand } from './commands.js';
import { messageOf } from './format.js';
import { type CliIo, write } from './output.js';

/**
 * Shared stores by URL scheme, each loaded only when asked for, so the CLI
 * works without their optional peer dependencies.
 */
const SHARED_STORES: Record<
  string,
  { peer: string; load: (url: string) => Promise<SharedBacklogStore> }
> = {
  'postgres:': { peer: 'pg', load: loadPostgres },
  'postgresql:': { peer: 'pg', load: loadPostgres },
  'redis:': { peer: 'ioredis', load: loadRedis },
  'rediss:': { peer: 'ioredis', load: loadRedis },
};

/** A PostgreSQL store; the URL's `schema` parameter (ours, not pg's) names its schema. */
async function loadPostgres(url: string): Promise<SharedBacklogStore> {
  const { postgresBacklog } = await import('../postgres/index.js');
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return postgresBacklog({ connectionString: parsed.href, ...(schema ? { schema } : {}) });
}

/** A Redis store; the URL's `prefix` parameter (ours, not ioredis's) names its key prefix. */
async function loadRedis(url: string): Promise<SharedBacklogStore> {
  const { redisBacklog } = await import('../redis/index.js');
  const parsed = new URL(url);
  const prefix = parsed.searchParams.get('prefix') ?? undefined;
  parsed.searchParams.delete('prefix');
  return redisBacklog({ url: parsed.href, ...(prefix ? { prefix } : {}) });
}

async function storeFor(url: string): Promise<SharedBacklogStore> {
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  const kind = SHARED_STORES[scheme];
  if (kind === undefined) {
    const known = Object.keys(SHARED_STORES).map((s) => `${s}//…`);
    throw new CliError(
      `no shared store for ${scheme}// URLs (known: ${known.join(', ')})`,
      EXIT.usage,
    );
  }
  try {
    return await kind.load(url);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && messageOf(error).includes(`'${kind.peer}'`)) {
      throw new CliError(
        `${scheme}// backlogs need the optional peer dependency "${kind.peer}": npm install ${kind.peer}`,
      );
    }
    throw error;
  }
}

/** The URL for messages: its password masked. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

/** The commands' view of a shared store's session. */
function viewOf(session: SharedBacklog): CliStore {
  return {
    location: session.location,
    stats: () => session.stats(),
    list: (options) => session.list(options),
    deadLetters: () => session.deadLetters(),
    requeueDead: () => session.requeueDeadLetters(),
    purge: () => session.purge(),
  };
}

/**
 * Runs a backlog command against a shared store named by URL
 * (`postgres://…`). A shared store has no owner to stop: every command works
 * beside running workers (`requeue-dead` and `purge` change what they claim next).
 */
export async function runSharedCli(args: Parsed, io: CliIo): Promise<number> {
  let session: SharedBacklog | undefined;
  let code: number = EXIT.ok;
  try {
    if (args.command === 'purge' && !args.yes) {
      throw new CliError(
        `refusing to purge ${withoutPassword(args.location)} without --yes: it deletes every pending task and dead letter of the whole fleet`,
        EXIT.usage,
      );
    }
    const store = await storeFor(args.location);
    session = await store.open({ role: 'producer', owner: `${PROGRAM}-cli` });
    await runCommand({ args, store: viewOf(session), io, now: (io.now ?? Date.now)() });
  } catch (error) {
    code = error instanceof CliError ? error.exitCode : EXIT.error;
    await write(io.stderr, `${PROGRAM}: ${messageOf(error)}\n`);
  }
  await session?.close().catch(() => undefined);
  return code;
}
