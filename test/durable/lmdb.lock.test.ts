/**
 * The lmdb store's lock: one store, one owner, however its path is spelled
 * and however many processes start on it at once.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BacklogLockedError } from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { durableWorker } from '../support/durable.js';
import { tempDirs } from '../support/temp-dirs.js';
import { thrownBy } from '../support/thrown.js';

const RACE_CHILD = fileURLToPath(new URL('../fixtures/lock-race-child.ts', import.meta.url));
const tempDir = tempDirs('xsw-lock-');

describe('two workers in one process on one store', () => {
  it.each([
    ['the second through a symlink', false],
    ['the first through a symlink', true],
  ])('%s is refused: the lock is held by this same process', async (_, firstViaLink) => {
    const path = tempDir();
    const link = join(tempDir(), 'link');
    symlinkSync(path, link, 'dir');
    const [first, second] = firstViaLink ? [link, path] : [path, link];
    const { worker } = durableWorker({}, lmdbBacklog({ path: first }));

    const thrown = thrownBy(() => durableWorker({}, lmdbBacklog({ path: second })));
    expect(thrown).toBeInstanceOf(BacklogLockedError);
    const error = thrown as BacklogLockedError;
    expect(error.holderPid).toBe(process.pid);
    expect(error.message).toContain(`backlog ${second} is locked by this same process`);
    expect(error.message).toContain(first); // where this process opened it
    // The first worker still owns the store, and releases it at shutdown.
    expect(JSON.parse(readFileSync(join(path, 'worker.lock'), 'utf8')).pid).toBe(process.pid);
    await worker.shutdown();
    expect(existsSync(join(path, 'worker.lock'))).toBe(false);
    const next = durableWorker({}, lmdbBacklog({ path: second }));
    await next.worker.shutdown();
  });
});

describe('a takeover of a stale lock that died halfway', () => {
  it('leaves a claim that does not stop the next start, and is cleaned up', async () => {
    const path = tempDir();
    const lock = join(path, 'worker.lock');
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const record = JSON.stringify({ pid: dead, host: hostname() });
    writeFileSync(lock, record);
    // What a process killed right after claiming the stale lock leaves: its claim, naming it.
    writeFileSync(`${lock}.takeover-${statSync(lock, { bigint: true }).ino}`, record);
    const { worker } = durableWorker({}, lmdbBacklog({ path }));
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    expect(readdirSync(path).filter((name) => name.startsWith('worker.lock'))).toEqual([
      'worker.lock',
    ]);
    await worker.shutdown();
    expect(existsSync(lock)).toBe(false);
  });
});

/** How many processes race, and how many stale locks they race for (one per round). */
const CONTENDERS = 6;
const ROUNDS = 10;
/** Start offsets, random up to this: about how long taking over a lock takes. */
const SPREAD_MS = 0.3;
/** A generous bound on a contender's start-up (tsx takes about a second) and each round, not a timing assertion. */
const STEP_LIMIT_MS = 20_000;

/** A contender process, and the lines it has said. */
function contender() {
  const child = spawn(process.execPath, ['--import', 'tsx', RACE_CHILD], {
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessWithoutNullStreams;
  const said: string[] = [];
  const waiting: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let stderr = '';
  let partial = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      said.push(line);
      for (const waiter of waiting.filter((w) => w.match(line))) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  /** The first line, said so far or later, that `match` accepts. */
  const line = (match: (line: string) => boolean, what: string): Promise<string> => {
    const seen = said.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiting.push({ match, resolve });
      void exited.then(() => reject(new Error(`a contender exited before ${what}: ${stderr}`)));
    });
  };
  return {
    pid: child.pid as number,
    send: (text: string) => child.stdin.write(`${text}\n`),
    ready: () => line((l) => l === 'READY', 'READY'),
    /** Its answer to GO for `path`: "OPENED <path>" or "LOCKED <path> <holderPid>". */
    answer: (path: string) =>
      line(
        (l) => l === `OPENED ${path}` || l.startsWith(`LOCKED ${path} `),
        `an answer for ${path}`,
      ),
    released: (path: string) => line((l) => l === `RELEASED ${path}`, `RELEASED ${path}`),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let bound: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    bound = setTimeout(
      () => reject(new Error(`${what}: not done within ${STEP_LIMIT_MS} ms`)),
      STEP_LIMIT_MS,
    );
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(bound));
}

describe('several processes taking over one stale lock at the same moment', () => {
  it(
    `end with exactly one owner (${CONTENDERS} processes, ${ROUNDS} stale locks)`,
    async () => {
      const contenders = Array.from({ length: CONTENDERS }, contender);
      try {
        await within(Promise.all(contenders.map((c) => c.ready())), 'start-up');
        const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
        for (let round = 0; round < ROUNDS; round++) {
          const path = tempDir();
          const lock = join(path, 'worker.lock');
          writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname() }));
          // The contenders start within SPREAD_MS of one moment (each spins until its
          // start), at random offsets: some read the stale lock while others replace it.
          const at = performance.timeOrigin + performance.now() + 300;
          for (const c of contenders) c.send(`GO ${path} ${at + Math.random() * SPREAD_MS}`);
          const answers = await within(
            Promise.all(contenders.map((c) => c.answer(path))),
            `round ${round}`,
          );
          const owners = contenders.filter((_, i) => answers[i] === `OPENED ${path}`);
          const refusedBy = answers
            .filter((a) => a.startsWith('LOCKED '))
            .map((a) => Number(a.split(' ')[2]));
          expect({ round, owners: owners.length, refused: refusedBy.length }).toEqual({
            round,
            owners: 1,
            refused: CONTENDERS - 1,
          });
          const owner = owners[0] as (typeof contenders)[number];
          // Each refusal names the owner: the lock it read, or its takeover in progress.
          expect(new Set(refusedBy)).toEqual(new Set([owner.pid]));
          expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(owner.pid);
          owner.send(`RELEASE ${path}`);
          await within(owner.released(path), `the release of round ${round}`);
          // No lock, and no claim or candidate file left behind by the losers.
          expect(readdirSync(path).filter((name) => name.startsWith('worker.lock'))).toEqual([]);
        }
        for (const c of contenders) c.send('EXIT');
        expect(await within(Promise.all(contenders.map((c) => c.exited)), 'exit')).toEqual(
          contenders.map(() => 0),
        );
      } finally {
        for (const c of contenders) c.kill();
      }
    },
    (ROUNDS + 2) * STEP_LIMIT_MS,
  );
});
