import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RECORD_FORMAT } from '../backlog/record.js';
import type { BacklogHooks, BacklogStore } from '../backlog/types.js';
import { BacklogError } from '../errors/BacklogError.js';
import { BacklogLockedError } from '../errors/BacklogLockedError.js';
import type { LmdbBacklogOptions } from '../lmdb/lmdbBacklog.js';
import { ageSince, messageOf, oneLine, table } from './format.js';

/** Where the command line writes: `process.stdout`, or anything with a `write` (tests). */
export interface CliOutput {
  write(chunk: string): unknown;
  /** When present and `write` returns `false`, output waits for `'drain'` (backpressure). */
  once?(event: 'drain', listener: () => void): unknown;
}

/** The command line's outputs and clock. */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  /** Wall-clock ms for ages. Default: `Date.now`. */
  now?: () => number;
}

/** Exit codes of {@link runCli}. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

const PROGRAM = 'xstate-sync-worker';
const DATA_FILE = 'backlog.mdb';
const LOCK_FILE = 'worker.lock';
const DEFAULT_LIMIT = 50;

export const USAGE = `Usage: ${PROGRAM} backlog <path> <command> [options]

Inspects and repairs the durable backlog kept by lmdbBacklog({ path }).

Commands:
  stats          pending tasks per key, the oldest task's age, dead letters
  list           pending tasks, oldest first
  export         every pending task as JSON lines (one record a line)
  requeue-dead   moves every dead letter back to pending, with fresh attempts
  purge --yes    deletes every pending task and dead letter

Options:
  --json         stats: print JSON
  --key <key>    list: only the tasks of this key
  --limit <n>    list: at most n tasks (default ${DEFAULT_LIMIT})
  --dead         export: the dead letters instead of the pending tasks
  --yes          purge: confirms the deletion
  -h, --help     prints this help

stats, list and export only read, without the lock: they work beside a running
worker. requeue-dead and purge take the store's lock: stop its worker first.

Exit codes: 0 done, 1 failed (message on stderr), 2 bad usage.
`;

type Command = 'stats' | 'list' | 'export' | 'requeue-dead' | 'purge';
type OptionName = 'json' | 'key' | 'limit' | 'dead' | 'yes';

/** The options each command accepts; any other is a usage error. */
const COMMANDS: Record<Command, readonly OptionName[]> = {
  stats: ['json'],
  list: ['key', 'limit'],
  export: ['dead'],
  'requeue-dead': [],
  purge: ['yes'],
};

interface Parsed {
  command: Command;
  location: string;
  json: boolean;
  key: string | undefined;
  limit: number;
  dead: boolean;
  yes: boolean;
}

/** A failure with a message for stderr and an exit code; never printed with a stack. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
  }
}

function isCommand(name: string | undefined): name is Command {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

/** Reads the arguments, or throws a {@link CliError} with the usage exit code. */
function parse(argv: readonly string[]): Parsed {
  let values: Partial<Record<OptionName, string | boolean>>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        key: { type: 'string' },
        limit: { type: 'string' },
        dead: { type: 'boolean' },
        yes: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new CliError(messageOf(error), EXIT.usage);
  }
  const [group, path, command, ...extra] = positionals;
  if (group !== 'backlog') {
    throw new CliError(
      group === undefined ? 'missing command "backlog"' : `unknown command "${group}"`,
      EXIT.usage,
    );
  }
  if (path === undefined || path === '')
    throw new CliError('missing the backlog <path>', EXIT.usage);
  if (command === undefined) throw new CliError('missing the backlog command', EXIT.usage);
  if (!isCommand(command)) throw new CliError(`unknown backlog command "${command}"`, EXIT.usage);
  if (extra.length > 0) throw new CliError(`unexpected argument "${extra[0]}"`, EXIT.usage);
  const allowed = COMMANDS[command];
  for (const name of Object.keys(values) as OptionName[]) {
    if (!allowed.includes(name)) {
      throw new CliError(`option --${name} does not apply to "${command}"`, EXIT.usage);
    }
  }
  let limit = DEFAULT_LIMIT;
  if (typeof values.limit === 'string') {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1) {
      throw new CliError(`--limit must be a positive integer, not "${values.limit}"`, EXIT.usage);
    }
    limit = Number(values.limit);
  }
  return {
    command,
    location: resolve(path),
    json: values.json === true,
    key: typeof values.key === 'string' ? values.key : undefined,
    limit,
    dead: values.dead === true,
    yes: values.yes === true,
  };
}

/** Refuses a path without a store: opening would create one, or fail obscurely when read-only. */
function checkStoreExists(location: string): void {
  if (!existsSync(location)) {
    throw new CliError(`no backlog at ${location}: the directory does not exist`);
  }
  if (!statSync(location).isDirectory()) {
    throw new CliError(`no backlog at ${location}: it is not a directory`);
  }
  if (!existsSync(join(location, DATA_FILE))) {
    throw new CliError(`no backlog at ${location}: it has no ${DATA_FILE}`);
  }
}

/** Loads the lmdb store only when a command needs it, so `--help` works without the peer dependency. */
async function createStore(options: LmdbBacklogOptions): Promise<BacklogStore> {
  try {
    const { lmdbBacklog } = await import('../lmdb/lmdbBacklog.js');
    return lmdbBacklog(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && messageOf(error).includes("'lmdb'")) {
      throw new CliError(
        'the backlog commands need the optional peer dependency "lmdb": npm install lmdb',
      );
    }
    throw error;
  }
}

/** Writes text, waiting for `'drain'` when the output asks for it. */
async function write(out: CliOutput, text: string): Promise<void> {
  if (out.write(text) === false && out.once !== undefined) {
    const once = out.once.bind(out);
    await new Promise<void>((done) => once('drain', done));
  }
}

/** Writes lines in chunks of about 64 KiB, so large exports neither buffer whole nor write per line. */
async function writeLines(out: CliOutput, lines: Iterable<string>): Promise<void> {
  let chunk = '';
  for (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= 65_536) {
      await write(out, chunk);
      chunk = '';
    }
  }
  if (chunk !== '') await write(out, chunk);
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

interface Context {
  args: Parsed;
  store: BacklogStore;
  io: CliIo;
  now: number;
}

async function stats({ args, store, io, now }: Context): Promise<void> {
  const s = store.stats();
  const keys = Object.keys(s.byKey).sort();
  const oldestAgeMs =
    s.oldestEnqueuedAt === undefined ? null : Math.max(0, now - s.oldestEnqueuedAt);
  if (args.json) {
    const byKey: Record<string, number> = {};
    for (const key of keys) byKey[key] = s.byKey[key] ?? 0;
    const report = {
      location: store.location,
      pending: s.pending,
      byKey,
      oldestEnqueuedAt: s.oldestEnqueuedAt ?? null,
      oldestAgeMs,
      deadLetters: s.deadLetters,
    };
    await write(io.stdout, `${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines = [
    `backlog ${store.location}`,
    `pending: ${s.pending}${keys.length > 0 ? ` in ${plural(keys.length, 'key')}` : ''}`,
    ...table(keys.map((key) => [`  ${oneLine(key)}`, String(s.byKey[key] ?? 0)])),
    s.oldestEnqueuedAt === undefined
      ? 'oldest pending: none'
      : `oldest pending: ${ageSince(s.oldestEnqueuedAt, now)} (enqueued ${new Date(s.oldestEnqueuedAt).toISOString()})`,
    `dead letters: ${s.deadLetters}`,
  ];
  await writeLines(io.stdout, lines);
}

async function list({ args, store, io, now }: Context): Promise<void> {
  // One more than asked, to tell whether the list was cut.
  const records = store.list({ key: args.key, limit: args.limit + 1 });
  const shown = records.slice(0, args.limit);
  if (shown.length === 0) {
    const scope = args.key === undefined ? '' : ` for key ${JSON.stringify(args.key)}`;
    await write(io.stdout, `no pending tasks${scope}\n`);
    return;
  }
  const rows = [
    ['SEQ', 'KEY', 'ID', 'HANDLER', 'ATTEMPTS', 'AGE', 'LAST ERROR'],
    ...shown.map((r) => [
      String(r.seq),
      oneLine(r.key),
      oneLine(r.id),
      oneLine(r.handler),
      String(r.attempts),
      ageSince(r.enqueuedAt, now),
      r.lastError === undefined ? '-' : oneLine(r.lastError),
    ]),
  ];
  await writeLines(io.stdout, table(rows));
  if (records.length > args.limit) {
    await write(
      io.stderr,
      `showing the oldest ${plural(args.limit, 'task')}; more are pending (raise --limit)\n`,
    );
  }
}

async function exportRecords({ args, store, io }: Context): Promise<void> {
  const records = args.dead ? store.deadLetters() : store.list();
  // The stored format (see encodeRecord), with `seq` kept in the line since no store key holds it.
  await writeLines(
    io.stdout,
    records.map((record) => JSON.stringify({ v: RECORD_FORMAT, ...record })),
  );
}

async function requeueDead({ store, io }: Context, nextSeq: number): Promise<void> {
  let seq = nextSeq;
  const revived = await store.requeueDead(() => seq++);
  await write(
    io.stdout,
    revived.length === 0
      ? `no dead letters in ${store.location}\n`
      : `requeued ${plural(revived.length, 'dead letter')} in ${store.location}\n`,
  );
}

async function purge({ store, io }: Context, pending: number, dead: number): Promise<void> {
  const removed = await store.purge();
  await write(
    io.stdout,
    `purged ${plural(removed, 'record')} (${plural(pending, 'pending task')}, ${plural(dead, 'dead letter')}) from ${store.location}\n`,
  );
}

function failureMessage(error: unknown, location: string): string {
  if (error instanceof BacklogLockedError) {
    const who =
      error.holderPid === undefined ? 'another worker' : `the worker with pid ${error.holderPid}`;
    return `backlog ${location} is locked by ${who} (${join(location, LOCK_FILE)}); stop that worker first (stats, list and export work beside it)`;
  }
  if (error instanceof CliError || error instanceof BacklogError) return messageOf(error);
  return `unexpected failure: ${messageOf(error)}`;
}

/**
 * Runs `xstate-sync-worker` with `argv` (the arguments after the program),
 * writing to `io`; resolves with the exit code: 0 done, 1 failed, 2 bad usage.
 * Never exits the process and never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    await write(io.stdout, USAGE);
    return EXIT.ok;
  }
  let args: Parsed;
  try {
    args = parse(argv);
  } catch (error) {
    await write(io.stderr, `${PROGRAM}: ${messageOf(error)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const readOnly = args.command === 'stats' || args.command === 'list' || args.command === 'export';
  let store: BacklogStore | undefined;
  let code: number = EXIT.ok;
  let failure: unknown;
  const writeErrors: Error[] = [];
  try {
    if (args.command === 'purge' && !args.yes) {
      throw new CliError(
        `refusing to purge ${args.location} without --yes: it deletes every pending task and dead letter`,
        EXIT.usage,
      );
    }
    checkStoreExists(args.location);
    store = await createStore({ path: args.location, readOnly });
    const hooks: BacklogHooks = {
      // Commands only list records; a corrupt one shows up as such and is left where it is.
      onCorrupt() {},
      onWriteError(error) {
        writeErrors.push(error);
      },
    };
    const opened = store.open(hooks);
    const context: Context = { args, store, io, now: (io.now ?? Date.now)() };
    switch (args.command) {
      case 'stats':
        await stats(context);
        break;
      case 'list':
        await list(context);
        break;
      case 'export':
        await exportRecords(context);
        break;
      case 'requeue-dead':
        await requeueDead(context, opened.nextSeq);
        break;
      case 'purge': {
        let pending = 0;
        for (const count of opened.pendingByKey.values()) pending += count;
        await purge(context, pending, opened.deadLetters);
        break;
      }
    }
  } catch (error) {
    failure = error;
    code = error instanceof CliError ? error.exitCode : EXIT.error;
  }
  if (store !== undefined) {
    try {
      await store.close();
    } catch (error) {
      if (failure === undefined) {
        failure = error;
        code = EXIT.error;
      }
    }
  }
  if (failure === undefined && writeErrors[0] !== undefined) {
    failure = writeErrors[0];
    code = EXIT.error;
  }
  if (failure !== undefined) {
    await write(io.stderr, `${PROGRAM}: ${failureMessage(failure, args.location)}\n`);
  }
  return code;
}
