/**
 * `npx tsx bench/compare.ts --before <dir> --after <dir> [--runs 5] [--quick] [--filter text]... [--md out.md]`
 *
 * Compares two checkouts of the project (each with its node_modules): runs
 * `npm run bench -- --json <tmp>` in before, then after, then before, …,
 * `--runs` times each, so drift in the machine's load hits both sides alike.
 * Prints, per table row that either side has, the median of the runs'
 * medians on each side, their range, the ratio and a verdict (see
 * lib/compare.ts). Exits 0, whatever the verdicts; 1 if a bench run fails;
 * 2 for bad arguments.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compareRuns } from './lib/compare.js';
import { type CompareMeta, renderMarkdown, renderText } from './lib/compare-render.js';
import type { RunResult } from './lib/types.js';

const USAGE = [
  'usage: npx tsx bench/compare.ts --before DIR --after DIR [--runs N] [--quick] [--filter TEXT]... [--md FILE]',
  '  --before DIR   the checkout to compare against (e.g. a git worktree of main, with node_modules)',
  '  --after DIR    the checkout with the change',
  '  --runs N       bench runs per side, alternating before and after (default 5)',
  '  --quick        pass --quick to every run',
  '  --filter TEXT  pass --filter TEXT to every run (repeatable)',
  '  --md FILE      also write the comparison as markdown',
  '',
].join('\n');

/** The parsed command line. */
interface Options {
  before: string;
  after: string;
  runs: number;
  quick: boolean;
  filters: string[];
  md?: string;
}

/** A command-line mistake: reported with the usage, exit code 2. */
class UsageError extends Error {}

/** Parses and checks the command line; throws {@link UsageError}, or returns undefined for --help. */
function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      before: { type: 'string' },
      after: { type: 'string' },
      runs: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false },
      filter: { type: 'string', multiple: true },
      md: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new UsageError(`--runs ${values.runs}: not a whole number ≥ 1`);
  const checkout = (flag: string, dir: string | undefined): string => {
    if (dir === undefined) throw new UsageError(`${flag} DIR is required`);
    const abs = resolve(dir);
    if (!existsSync(join(abs, 'package.json')))
      throw new UsageError(`${flag} ${dir}: no package.json there`);
    if (!existsSync(join(abs, 'node_modules')))
      throw new UsageError(`${flag} ${dir}: no node_modules there`);
    return abs;
  };
  return {
    before: checkout('--before', values.before),
    after: checkout('--after', values.after),
    runs,
    quick: values.quick,
    filters: values.filter ?? [],
    ...(values.md === undefined ? {} : { md: resolve(values.md) }),
  };
}

/** The arguments after `npm run bench --` for one run writing its JSON to `json`. */
function benchArgs(options: Options, json: string): string[] {
  return [
    '--json',
    json,
    ...(options.quick ? ['--quick'] : []),
    ...options.filters.flatMap((f) => ['--filter', f]),
  ];
}

/**
 * Runs `npm run bench` in `dir` and reads the JSON it wrote. Progress goes to
 * our stderr; the markdown report is kept back and shown only if the run fails.
 */
function benchOnce(dir: string, args: string[], json: string): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn('npm', ['run', '--silent', 'bench', '--', ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const report: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => report.push(chunk));
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      if (code !== 0 || !existsSync(json)) {
        process.stderr.write(Buffer.concat(report));
        fail(new Error(`npm run bench in ${dir} exited ${code ?? signal}`));
        return;
      }
      done(JSON.parse(readFileSync(json, 'utf8')) as RunResult);
    });
  });
}

/** Runs the benchmarks `options.runs` times per side, alternating, starting with before. */
async function runAll(
  options: Options,
  tmp: string,
): Promise<{ before: RunResult[]; after: RunResult[] }> {
  const runs = { before: [] as RunResult[], after: [] as RunResult[] };
  for (let i = 1; i <= options.runs; i++) {
    for (const which of ['before', 'after'] as const) {
      const dir = options[which];
      const json = join(tmp, `${which}-${i}.json`);
      process.stderr.write(`\n[compare] ${which} ${i}/${options.runs}: ${dir}\n`);
      runs[which].push(await benchOnce(dir, benchArgs(options, json), json));
    }
  }
  return runs;
}

/** Runs, compares and prints; returns the exit code. */
async function main(): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${message}\n${USAGE}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'bench-compare-'));
  try {
    const runs = await runAll(options, tmp);
    const rows = compareRuns(runs.before, runs.after);
    const meta: CompareMeta = {
      before: { dir: options.before, commits: runs.before.map((r) => r.machine.commit) },
      after: { dir: options.after, commits: runs.after.map((r) => r.machine.commit) },
      runs: options.runs,
      quick: options.quick,
      filters: options.filters,
    };
    process.stdout.write(`\n${renderText(rows, meta)}\n`);
    if (options.md !== undefined) writeFileSync(options.md, renderMarkdown(rows, meta));
    return 0;
  } catch (error) {
    process.stderr.write(`[compare] ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
