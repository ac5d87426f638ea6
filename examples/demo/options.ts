/**
 * The demo's command line: parsing, validation and `--help`. A bad option is a
 * `UsageError`, which `main` prints with the usage and exits 2 for.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { PhaseName } from './types.js';

/** The validated options of one run. */
export interface DemoOptions {
  sessions: number;
  turns: number;
  /** `undefined`: the scenario's default for the mode. */
  outageMs: number | undefined;
  seed: number;
  /** The run directory (`--backlog`), or `undefined` for a temporary one. */
  backlog: string | undefined;
  report: string;
  fast: boolean;
  inspect: boolean;
  /** Serve the offline live view (`xstate-sync-worker/live`) during the run. */
  live: boolean;
  killAt: PhaseName | undefined;
  resume: boolean;
  /** Plain timestamped lines instead of the live block. */
  plain: boolean;
  /** A real Honcho server to write to instead of the local service (`--honcho-url`). */
  honchoUrl: string | undefined;
  /** Its API key (`--honcho-key`, or `HONCHO_API_KEY`). */
  honchoKey: string | undefined;
  help: boolean;
}

/** `demo-report.html` → `demo-report-resumed.html`: a resumed run keeps the first run's report. */
export function resumedReportPath(report: string): string {
  const ext = path.extname(report);
  return `${report.slice(0, report.length - ext.length)}-resumed${ext}`;
}

function honchoUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--honcho-url must be an http(s) URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--honcho-url must be an http(s) URL, got "${text}"`);
  }
  return text;
}

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const PHASES: readonly PhaseName[] = ['healthy', 'spike', 'outage', 'recovery'];

export const USAGE = `usage: npm start [-- options]

An application writes every chat turn to a memory service through
xstate-sync-worker. The service slows down, goes away and comes back; the
run then checks that every message arrived exactly once, in order.

options
  --sessions <n>      conversations                         default 20 (--fast: 10)
  --turns <n>         turns per conversation                default 50 (--fast: 16)
  --outage-ms <ms>    length of the outage                  default 12000 (--fast: 1500)
  --seed <n>          the fault schedule's seed: the same seed, the same schedule   default 7
  --backlog <dir>     keep the backlog (and the service's store) in <dir>;
                      default: a temporary directory, removed at the end
  --report <file>     where the HTML report goes            default demo-report.html
                      (with --resume: demo-report-resumed.html)
  --fast              the same story condensed to about 6 s (CI runs this)
  --inspect           serve the Stately inspector on 127.0.0.1 and print its URL
                      (the inspector's page itself loads from stately.ai)
  --live              serve the live view on 127.0.0.1 and print its URL: the
                      machines, their current states, charts; needs no network
  --kill-at <phase>   SIGKILL this process in the middle of <phase>
                      (healthy | spike | outage | recovery); needs --backlog
  --resume            finish a killed run from its --backlog <dir>, then check both runs
  --plain             timestamped lines instead of the live status block
                      (the default when stdout is not a terminal, or under CI)
  --honcho-url <url>  write to this real Honcho server instead of the local
                      service (no fault schedule; copies are counted, not failed)
  --honcho-key <key>  its API key                           default $HONCHO_API_KEY
  --help              this text

exit codes: 0 every message arrived exactly once and in order;
            1 something was lost, duplicated or reordered (or the run failed);
            2 bad options`;

function integer(
  name: string,
  text: string | undefined,
  fallback: number,
  [min, max]: [number, number],
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function nonNegative(name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new UsageError(`--${name} must be a number from 0 to ${max}, got "${text}"`);
  }
  return value;
}

function phase(text: string | undefined): PhaseName | undefined {
  if (text === undefined) return undefined;
  if (!(PHASES as readonly string[]).includes(text)) {
    throw new UsageError(`--kill-at must be one of ${PHASES.join(', ')}, got "${text}"`);
  }
  return text as PhaseName;
}

/** Parses and validates `argv` (without the node and script paths). */
export function parseOptions(argv: readonly string[], env = process.env): DemoOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        sessions: { type: 'string' },
        turns: { type: 'string' },
        'outage-ms': { type: 'string' },
        seed: { type: 'string' },
        backlog: { type: 'string' },
        report: { type: 'string' },
        fast: { type: 'boolean' },
        inspect: { type: 'boolean' },
        live: { type: 'boolean' },
        'kill-at': { type: 'string' },
        resume: { type: 'boolean' },
        plain: { type: 'boolean' },
        'honcho-url': { type: 'string' },
        'honcho-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const fast = values.fast === true;
  const text = (name: string) => values[name] as string | undefined;
  const options: DemoOptions = {
    sessions: integer('sessions', text('sessions'), fast ? 10 : 20, [1, 1_000]),
    turns: integer('turns', text('turns'), fast ? 16 : 50, [1, 10_000]),
    outageMs: nonNegative('outage-ms', text('outage-ms'), 600_000),
    seed: integer('seed', text('seed'), 7, [0, 2 ** 31 - 1]),
    backlog: text('backlog') === undefined ? undefined : path.resolve(text('backlog') as string),
    report: path.resolve(
      text('report') ??
        (values.resume === true ? resumedReportPath('demo-report.html') : 'demo-report.html'),
    ),
    fast,
    inspect: values.inspect === true,
    live: values.live === true,
    killAt: phase(text('kill-at')),
    resume: values.resume === true,
    plain: values.plain === true || Boolean(env.CI) || !process.stdout.isTTY,
    honchoUrl: honchoUrl(text('honcho-url')),
    honchoKey: text('honcho-key') ?? env.HONCHO_API_KEY,
    help: values.help === true,
  };
  if (options.help) return options;
  if (options.killAt !== undefined && options.backlog === undefined) {
    throw new UsageError('--kill-at needs --backlog <dir>, so that the resumed run can find it');
  }
  if (options.resume && options.backlog === undefined) {
    throw new UsageError('--resume needs the --backlog <dir> of the killed run');
  }
  if (options.honchoKey !== undefined && options.honchoUrl === undefined && text('honcho-key')) {
    throw new UsageError('--honcho-key needs --honcho-url <url>');
  }
  if (options.resume && options.killAt !== undefined) {
    throw new UsageError('--resume and --kill-at cannot be combined');
  }
  return options;
}
