/**
 * The README's quick start, durable example and inspector recipe, copied as a
 * user copies them: type-checked under the project's strict settings, and the
 * first two run in a child process against a real HTTP server.
 *
 * Each example gets a prelude with what it takes from the user's app
 * (`MEMORY_URL`, `log`, `server`, …) and its `xstate-sync-worker` imports are
 * pointed at this checkout's sources; its own text is not changed.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlocks, readmeSection } from '../support/readme.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** Inside the checkout, so that `node_modules` and `"type": "module"` apply; gitignored. */
const SCRATCH = join(ROOT, '.vitest-artifacts');
/** A bound on a child, so a hang fails the test instead of stalling it; not a synchronisation. */
const CHILD_BOUND_MS = 15_000;

let dir = '';
beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  dir = mkdtempSync(join(SCRATCH, 'readme-examples-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `n`th ts block (from 0) under the heading `title`. */
function tsBlock(title: string, n = 0): string {
  const block = codeBlocks(readmeSection(README, title), 'ts')[n];
  if (block === undefined) throw new Error(`no ts block ${n} under "${title}"`);
  return block;
}

/** The example with its imports of the package pointed at this checkout. */
function pointedAtSources(example: string, file: string): string {
  const to = (path: string) => {
    const rel = relative(join(file, '..'), join(ROOT, path)).replaceAll('\\', '/');
    return rel.startsWith('.') ? rel : `./${rel}`;
  };
  return example
    .replaceAll("from 'xstate-sync-worker/lmdb'", `from '${to('src/lmdb/index.js')}'`)
    .replaceAll("from 'xstate-sync-worker'", `from '${to('src/index.js')}'`)
    .replaceAll("from './inspector.js'", `from '${to('examples/demo/inspector.js')}'`);
}

/** What the examples take from the user's app; `log` keeps what it is given, for the checks. */
const APP_PRELUDE = `
import { createServer } from 'node:http';
const MEMORY_URL = process.env.MEMORY_URL ?? 'http://127.0.0.1:9';
const body = JSON.stringify({ text: 'hello' });
const text = process.env.TEXT ?? 'hello';
const logged: string[] = [];
const note = (level: string) => (...parts: unknown[]) =>
  logged.push([level, ...parts.map((p) => (p instanceof Error ? p.message : String(p)))].join(' '));
const log = { debug: note('debug'), warn: note('warn'), error: note('error') };
const server = createServer((_request, response) => response.end()).listen(0, '127.0.0.1');
// The rest of a real app (a pool, a metrics timer) keeps Node alive too: a SIGTERM handler must exit.
setInterval(() => {}, 60_000);
`;

function writeExample(name: string, prelude: string, example: string, epilogue = ''): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, pointedAtSources(`${prelude}\n${example}\n${epilogue}\n`, file));
  return file;
}

/**
 * The remote: a 503 for the quick start's session 42. For the durable one: 400
 * for bad data, 503 for the first five tries of a "blip", else 201.
 */
let remote: Server;
let remoteUrl = '';
let blips = 0;
beforeAll(async () => {
  remote = createServer((request: IncomingMessage, response) => {
    let data = '';
    request.on('data', (chunk: Buffer) => (data += chunk));
    request.on('end', () => {
      if (request.url === '/sessions/42/messages') response.writeHead(503);
      else if (data.includes('"bad"')) response.writeHead(400);
      else if (data.includes('"blip"') && blips++ < 5) response.writeHead(503);
      else response.writeHead(201);
      response.end();
    });
  });
  await new Promise<void>((listening) => remote.listen(0, '127.0.0.1', () => listening()));
  remoteUrl = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
});
afterAll(() => remote.close());

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  report: Record<string, unknown>;
  output: string;
}

/** Runs `file`; once it prints its report line, sends it `signal` if asked; resolves when it ends. */
function runChild(
  file: string,
  env: Record<string, string>,
  signal?: NodeJS.Signals,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: dir,
      env: { ...process.env, ...env, MEMORY_URL: remoteUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let report: Record<string, unknown> = {};
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      const line = output.split('\n').find((l) => l.startsWith('REPORT '));
      if (line !== undefined && Object.keys(report).length === 0) {
        report = JSON.parse(line.slice(7));
        if (signal !== undefined) child.kill(signal);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const bound = setTimeout(() => child.kill('SIGKILL'), CHILD_BOUND_MS);
    child.once('error', reject);
    child.once('exit', (code, by) => {
      clearTimeout(bound);
      resolve({ code, signal: by, report, output });
    });
  });
}

describe('the README’s examples, copied', () => {
  it('type-check under the project’s strict settings', async () => {
    const files = [
      writeExample('quick-start', APP_PRELUDE, tsBlock('Quick start')),
      writeExample('durable', APP_PRELUDE, tsBlock('Durable tasks')),
      // The bridge recipe: the block after the callback inspector's.
      writeExample(
        'inspector',
        "import { SyncWorker } from 'xstate-sync-worker';",
        tsBlock('Inspecting the live actors', 1),
      ),
    ];
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: relative(dir, join(ROOT, 'tsconfig.json')),
        compilerOptions: { noEmit: true, noUnusedLocals: false },
        include: [],
        files: files.map((f) => relative(dir, f)),
      }),
    );
    const checked = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        join(ROOT, 'node_modules/.bin/tsc'),
        ['-p', join(dir, 'tsconfig.json')],
        { cwd: dir },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(checked.output).toBe('');
    expect(checked.code).toBe(0);
  }, 60_000);

  it('the quick start: a 503 is a failure the breaker counts, and SIGTERM ends the process', async () => {
    const file = writeExample(
      'quick-start-run',
      APP_PRELUDE,
      tsBlock('Quick start'),
      `await worker.onIdle();
process.stdout.write(\`REPORT \${JSON.stringify({ logged, failures: worker.breaker?.consecutiveFailures })}\\n\`);`,
    );
    const run = await runChild(file, {}, 'SIGTERM');
    expect(run.report, run.output).toEqual({ logged: ['warn not stored HTTP 503'], failures: 1 });
    expect({ code: run.code, signal: run.signal }, run.output).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('the durable example: refused data does not open the breaker, and a blip stalls it for 2 s, not 60', async () => {
    const file = writeExample(
      'durable-run',
      APP_PRELUDE,
      tsBlock('Durable tasks'),
      `const changes: string[] = [];
worker.on('breakerStateChange', ({ to }) => changes.push(to));
const enqueue = (text: string, key: string) => worker.enqueue({ handler: 'memory.addMessages', payload: { text }, key });
// Six rejected messages (more than failureThreshold), then a good one.
for (let i = 0; i < 6; i++) enqueue('bad', 'session-42');
enqueue('good', 'session-42');
await worker.onIdle();
const refused = { changes: changes.splice(0), stats: worker.stats() };
// A blip: the remote answers 503 five times, which opens the breaker; the probe comes 2 s later.
enqueue('blip', 'session-7');
await worker.onIdle();
const blip = { changes: changes.splice(0), stats: worker.stats() };
await worker.shutdown();
process.stdout.write(\`REPORT \${JSON.stringify({ logged, refused, blip })}\\n\`);
process.exit(0);`,
    );
    const run = await runChild(file, {});
    expect(run.code, run.output).toBe(0);
    expect(run.report.refused).toMatchObject({
      changes: [],
      stats: { deadLettered: 6, completed: 2, backlog: 0 },
    });
    expect(run.report.blip).toMatchObject({
      changes: ['open', 'half_open', 'closed'],
      stats: { deadLettered: 6, completed: 3, backlog: 0 },
    });
    expect(
      (run.report.logged as string[]).filter((l) => l.startsWith('error gave up on')),
    ).toHaveLength(6);
  }, 30_000);
});
