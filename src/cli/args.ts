import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMIT } from './usage.js';

export { DEFAULT_LIMIT, PROGRAM, USAGE } from './usage.js';

/** Exit codes of {@link runCli}. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/** The backlog commands. */
export type Command = 'stats' | 'list' | 'export' | 'requeue-dead' | 'purge';
type CommandOption = 'json' | 'key' | 'limit' | 'dead' | 'yes';
type OptionName = CommandOption | 'help' | 'version';

/** The options each command accepts; any other is a usage error. */
const COMMANDS: Record<Command, readonly CommandOption[]> = {
  stats: ['json'],
  list: ['json', 'key', 'limit'],
  export: ['dead'],
  'requeue-dead': [],
  purge: ['yes'],
};

/** Every option and whether it takes a value. */
const OPTIONS: Record<OptionName, { type: 'string' | 'boolean'; short?: string }> = {
  json: { type: 'boolean' },
  key: { type: 'string' },
  limit: { type: 'string' },
  dead: { type: 'boolean' },
  yes: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

/** The arguments of a backlog command, parsed and checked. */
export interface Parsed {
  command: Command;
  location: string;
  json: boolean;
  key: string | undefined;
  limit: number;
  dead: boolean;
  yes: boolean;
}

/** What the command line was asked to do. */
export type Invocation =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'command'; args: Parsed };

/** A failure with a message for stderr and an exit code; never printed with a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
  }
}

function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

function isCommand(name: string | undefined): name is Command {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

function isOption(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

interface Tokens {
  values: Partial<Record<OptionName, string | true>>;
  positionals: string[];
  /** The first mistake, if any; `--help` and `--version` still win over it. */
  mistake: CliError | undefined;
}

/** Why an option token is wrong, if it is. */
function optionMistake(
  token: {
    name: string;
    rawName: string;
    value: string | undefined;
    inlineValue: boolean | undefined;
  },
  seen: Tokens['values'],
): string | undefined {
  const { name, rawName, value, inlineValue } = token;
  if (!isOption(name)) return `unknown option ${rawName}`;
  if (Object.hasOwn(seen, name)) return `option ${rawName} is given twice`;
  if (OPTIONS[name].type === 'boolean') {
    return value === undefined ? undefined : `option ${rawName} takes no value`;
  }
  // Lenient parsing takes the next argument whatever it is: `--key --limit 5` is a mistake.
  if (value === undefined || (!inlineValue && value.startsWith('-'))) {
    return `option ${rawName} needs a value`;
  }
  return undefined;
}

/**
 * Splits the arguments with `parseArgs` in its lenient mode, then checks each
 * option here, so that every mistake gets one short line of ours rather than
 * Node's paragraph.
 */
function tokenize(argv: readonly string[]): Tokens {
  const { tokens } = parseArgs({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: OPTIONS,
  });
  const found: Tokens = { values: {}, positionals: [], mistake: undefined };
  for (const token of tokens) {
    if (token.kind === 'positional') found.positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const mistake = optionMistake(token, found.values);
    if (mistake !== undefined) found.mistake ??= usageError(mistake);
    else if (isOption(token.name)) found.values[token.name] = token.value ?? true;
  }
  return found;
}

function limitOf(text: string | true | undefined): number {
  if (typeof text !== 'string') return DEFAULT_LIMIT;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw usageError(`--limit must be a positive integer, not "${text}"`);
  }
  return Number(text);
}

/** Reads the arguments, or throws a {@link CliError} with the usage exit code. */
export function parse(argv: readonly string[]): Invocation {
  const { values, positionals, mistake } = tokenize(argv);
  if (values.help === true) return { action: 'help' };
  if (values.version === true) return { action: 'version' };
  if (mistake !== undefined) throw mistake;
  const [group, path, command, ...extra] = positionals;
  if (group !== 'backlog') {
    throw usageError(
      group === undefined ? 'missing the command "backlog"' : `unknown command "${group}"`,
    );
  }
  if (path === undefined || path === '') throw usageError('missing the backlog <path>');
  if (command === undefined) throw usageError('missing the backlog command');
  if (!isCommand(command)) throw usageError(`unknown backlog command "${command}"`);
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`);
  const allowed: readonly OptionName[] = COMMANDS[command];
  for (const name of Object.keys(values) as OptionName[]) {
    if (!allowed.includes(name))
      throw usageError(`option --${name} does not apply to "${command}"`);
  }
  return {
    action: 'command',
    args: {
      command,
      // A server's URL (postgres://…) names a shared store; anything else is a directory.
      location: isStoreUrl(path) ? path : resolve(path),
      json: values.json === true,
      key: typeof values.key === 'string' ? values.key : undefined,
      limit: limitOf(values.limit),
      dead: values.dead === true,
      yes: values.yes === true,
    },
  };
}

/** Whether `location` is a shared store's URL rather than a path. */
export function isStoreUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}
