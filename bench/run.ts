/**
 * `npm run bench [-- --quick] [--json out.json] [--md out.md] [--filter text]`
 *
 * Runs every file in bench/cases/ in its own child process (node --import tsx
 * --expose-gc), collects the results each sends over IPC, prints a markdown
 * report, and exits non-zero only if the harness broke: a case threw, died,
 * or failed a correctness check. Missed targets do not change the exit code.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderRun } from './lib/report.js';
import type { CaseOutcome, ChildMessage, Machine, RunResult } from './lib/types.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
const casesDir = join(benchDir, 'cases');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    md: { type: 'string' },
    filter: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(
    [
      'usage: npm run bench -- [--quick] [--json out.json] [--md out.md] [--filter text]...',
      '  --quick        short runs, to check that the harness works (CI)',
      '  --json FILE    also write the results as JSON',
      '  --md FILE      also write the markdown report',
      '  --filter TEXT  only cases whose file name contains TEXT (repeatable)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

/** Per case: a full run of the slowest case takes about a minute on 2 cores. */
const CASE_TIMEOUT_MS = args.quick ? 120_000 : 900_000;

function packageVersion(name: string): string {
  try {
    const text = readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'machines'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? sha : `${sha} (src/ or machines/ modified)`;
  } catch {
    return 'unknown';
  }
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 2 ** 30,
    platform: os.platform(),
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
    loadAverageStart: os.loadavg(),
    loadAverageEnd: [],
    commit: gitCommit(),
    packages: Object.fromEntries(
      ['p-queue', 'fastq', 'cockatiel', 'opossum', 'mitata', 'xstate', 'tsx'].map((name) => [
        name,
        packageVersion(name),
      ]),
    ),
  };
}

/** The tsx loader as an absolute URL, so children resolve it whatever their cwd. */
function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx';
  }
}

function runChild(file: string, loader: string): Promise<CaseOutcome> {
  const started = performance.now();
  const name = relative(root, file);
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', loader, '--expose-gc', file], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_QUICK: args.quick ? '1' : '0' },
    });
    let message: ChildMessage | undefined;
    let spawnError: string | undefined;
    child.on('message', (m) => {
      message = m as ChildMessage;
    });
    child.on('error', (error) => {
      spawnError = error.message;
    });
    const timer = setTimeout(() => {
      spawnError = `timed out after ${CASE_TIMEOUT_MS / 1000} s`;
      child.kill('SIGKILL');
    }, CASE_TIMEOUT_MS);
    child.on('exit', (exitCode, signal) => {
      clearTimeout(timer);
      const result = message?.type === 'result' ? message.result : message?.partial;
      const failedChecks = result?.checks.filter((check) => !check.ok) ?? [];
      const error =
        spawnError ??
        (message?.type === 'error' ? message.error : undefined) ??
        (message === undefined ? 'the case sent no result' : undefined) ??
        (failedChecks.length > 0
          ? `failed checks: ${failedChecks.map((c) => c.description).join('; ')}`
          : undefined);
      done({
        file: name,
        ok: exitCode === 0 && error === undefined && message?.type === 'result',
        exitCode,
        signal,
        durationMs: performance.now() - started,
        ...(error === undefined ? {} : { error }),
        ...(result === undefined ? {} : { result }),
      });
    });
  });
}

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const info = machine();
  const filters = args.filter ?? [];
  const files = readdirSync(casesDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .filter((f) => filters.length === 0 || filters.some((text) => f.includes(text)))
    .sort()
    .map((f) => join(casesDir, f));
  if (files.length === 0) {
    process.stderr.write('no benchmark case matched\n');
    return 1;
  }
  const loader = tsxLoader();
  process.stderr.write(
    `bench: ${files.length} cases${args.quick ? ' (--quick)' : ''} on ${info.cpu}, ${info.cores} cores, Node ${info.node}\n`,
  );
  const cases: CaseOutcome[] = [];
  for (const file of files) {
    process.stderr.write(`▶ ${relative(root, file)} … `);
    const outcome = await runChild(file, loader);
    process.stderr.write(
      `${outcome.ok ? 'ok' : 'FAILED'} in ${(outcome.durationMs / 1000).toFixed(1)} s\n`,
    );
    cases.push(outcome);
  }
  info.loadAverageEnd = os.loadavg();
  const run: RunResult = {
    startedAt,
    quick: args.quick,
    durationMs: performance.now() - started,
    machine: info,
    ok: cases.every((c) => c.ok),
    cases,
  };
  const markdown = renderRun(run);
  process.stdout.write(`\n${markdown}\n`);
  // npm runs scripts from the package root; INIT_CWD is where the user typed the command.
  const userDir = process.env.INIT_CWD ?? process.cwd();
  if (args.json !== undefined) {
    writeFileSync(resolve(userDir, args.json), `${JSON.stringify(run, null, 2)}\n`);
  }
  if (args.md !== undefined) writeFileSync(resolve(userDir, args.md), `${markdown}\n`);
  return run.ok ? 0 : 1;
}

process.exitCode = await main();
