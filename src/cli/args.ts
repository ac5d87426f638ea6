import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { messageOf } from './format.js';

/** Exit codes of {@link runCli}. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/** The command's name in messages. */
export const PROGRAM = 'xstate-sync-worker';
/** How many records `list` shows without `--limit`. */
export const DEFAULT_LIMIT = 50;

/** The usage text `--help` prints. */
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

/** The backlog commands. */
export type Command = 'stats' | 'list' | 'export' | 'requeue-dead' | 'purge';
type OptionName = 'json' | 'key' | 'limit' | 'dead' | 'yes';

/** The options each command accepts; any other is a usage error. */
const COMMANDS: Record<Command, readonly OptionName[]> = {
  stats: ['json'],
  list: ['key', 'limit'],
  export: ['dead'],
  'requeue-dead': [],
  purge: ['yes'],
};

/** The arguments, parsed and checked. */
export interface Parsed {
  command: Command;
  location: string;
  json: boolean;
  key: string | undefined;
  limit: number;
  dead: boolean;
  yes: boolean;
}

/** A failure with a message for stderr and an exit code; never printed with a stack. */
export class CliError extends Error {
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
export function parse(argv: readonly string[]): Parsed {
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
