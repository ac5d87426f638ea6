import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BacklogHooks, BacklogStore } from '../backlog/types.js';
import { BacklogError } from '../errors/BacklogError.js';
import { BacklogLockedError } from '../errors/BacklogLockedError.js';
import type { LmdbBacklogOptions } from '../lmdb/lmdbBacklog.js';
import {
  CliError,
  EXIT,
  type Invocation,
  isStoreUrl,
  type Parsed,
  PROGRAM,
  parse,
  USAGE,
} from './args.js';
import { type CliStore, runCommand } from './commands.js';
import { messageOf } from './format.js';
import { type CliIo, write } from './output.js';
import { runSharedCli } from './sharedCommand.js';
import { packageVersion } from './version.js';

export { EXIT, USAGE } from './args.js';
export type { CliIo, CliOutput } from './output.js';

const DATA_FILE = 'backlog.mdb';
const LOCK_FILE = 'worker.lock';

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

function failureMessage(error: unknown, location: string): string {
  if (error instanceof BacklogLockedError) {
    // Another host's lock, or this process's own: the error says what to do.
    if (error.holderHost !== undefined || error.sameProcess) return messageOf(error);
    const who =
      error.holderPid === undefined ? 'another worker' : `the worker with pid ${error.holderPid}`;
    return `backlog ${location} is locked by ${who} (${join(location, LOCK_FILE)}); stop that worker first (stats, list and export work beside it)`;
  }
  if (error instanceof CliError || error instanceof BacklogError) return messageOf(error);
  return `unexpected failure: ${messageOf(error)}`;
}

/**
 * Runs `xstate-sync-worker` with `argv` (the arguments after the program),
 * writing to `io`; resolves with the exit code: 0 done, 1 failed, 2 bad usage
 * (no arguments included).
 * Never exits the process and never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    // Nothing asked is a mistake, not a request for help: scripts must not read it as success.
    await write(io.stderr, USAGE);
    return EXIT.usage;
  }
  let invocation: Invocation;
  try {
    invocation = parse(argv);
  } catch (error) {
    await write(io.stderr, `${PROGRAM}: ${messageOf(error)} (see ${PROGRAM} --help)\n`);
    return EXIT.usage;
  }
  if (invocation.action === 'help') {
    await write(io.stdout, USAGE);
    return EXIT.ok;
  }
  if (invocation.action === 'version') {
    await write(io.stdout, `${packageVersion()}\n`);
    return EXIT.ok;
  }
  const args: Parsed = invocation.args;
  if (isStoreUrl(args.location)) return runSharedCli(args, io);
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
    const lmdb = store;
    let seq = opened.nextSeq;
    const view: CliStore = {
      location: lmdb.location,
      stats: () => lmdb.stats(),
      list: (options) => lmdb.list(options),
      deadLetters: () => lmdb.deadLetters(),
      requeueDead: async () => (await lmdb.requeueDead(() => seq++)).length,
      purge: () => lmdb.purge(),
    };
    await runCommand({ args, store: view, io, now: (io.now ?? Date.now)() });
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
