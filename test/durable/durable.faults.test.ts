/**
 * Faults of the durable path: a group commit refused by a full disk (a real
 * one, from the real lmdb store in a child process under a file-size limit),
 * a dead-letter requeue racing a group commit, and flush() after a refused
 * commit. Each test goes through the public API: `new SyncWorker({ handlers,
 * backlog })` with `lmdbBacklog({ path })` or `memoryBacklog()`, wrapped
 * where a test must hold or refuse a commit.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BacklogFullError,
  type BacklogRecord,
  type BacklogStore,
  memoryBacklog,
  NonRetryableError,
} from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { durableWorker } from '../support/durable.js';
import { tempDirs } from '../support/temp-dirs.js';

const DISK_FULL_CHILD = fileURLToPath(
  new URL('../fixtures/durable-disk-full-child.ts', import.meta.url),
);
/** `ulimit -f` blocks (512 or 1024 bytes, by shell): the store's file stops growing at 256 KiB or 512 KiB. */
const FILE_LIMIT_BLOCKS = 512;
/** A generous bound on one child's run (start-up with tsx takes about a second), not a timing assertion. */
const CHILD_LIMIT_MS = 30_000;

const tempDir = tempDirs('xsw-faults-');

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the disk-full child with Node's default flags under a file-size limit,
 * so the kernel refuses the store's writes past it (EFBIG, as ENOSPC on a full
 * disk): a real refused commit, from the real lmdb store.
 */
function runOnFullDisk(path: string, mode: DiskFullMode): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        `ulimit -f ${FILE_LIMIT_BLOCKS} && exec "$0" "$@"`,
        process.execPath,
        '--import',
        'tsx',
        DISK_FULL_CHILD,
        path,
        mode,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const bound = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the disk-full child (${mode}) did not exit: ${stdout}${stderr}`));
    }, CHILD_LIMIT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(bound);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

type DiskFullMode = 'flush' | 'no-flush';
const MODES: readonly DiskFullMode[] = ['flush', 'no-flush'];
const diskFullRuns = new Map<DiskFullMode, Promise<{ path: string; run: ChildRun }>>();
/** One child run per mode, shared by the two tests that read it. */
function diskFullRun(mode: DiskFullMode): Promise<{ path: string; run: ChildRun }> {
  let run = diskFullRuns.get(mode);
  if (run === undefined) {
    const path = mkdtempSync(join(tmpdir(), 'xsw-disk-full-'));
    run = runOnFullDisk(path, mode).then((result) => ({ path, run: result }));
    diskFullRuns.set(mode, run);
  }
  return run;
}
afterAll(async () => {
  for (const run of diskFullRuns.values()) {
    rmSync((await run).path, { recursive: true, force: true });
  }
});

describe.skipIf(process.platform === 'win32')('a group commit refused by a full disk', () => {
  it.each(MODES)(
    '(%s) leaves no unhandled rejection, with Node’s default flags',
    async (mode) => {
      const { path, run } = await diskFullRun(mode);
      // Exit 1, printing the rejection (lmdb's "Commit failed"), is Node's default end for an unhandled one.
      expect(run.stderr).not.toContain('Commit failed');
      expect({ code: run.code, signal: run.signal }, run.stdout + run.stderr).toEqual({
        code: 0,
        signal: null,
      });
      const refused = run.stdout.split('\n').find((line) => line.startsWith('REFUSED '));
      // The message names the store and the file system's reason, not lmdb's "see commitError".
      expect(refused).toContain(`backlog ${path} could not keep`);
      expect(refused).not.toContain('commitError');
    },
    CHILD_LIMIT_MS,
  );

  it.each(MODES)(
    '(%s) shutdown() resolves after the refused last commit and releases the lock',
    async (mode) => {
      const { path, run } = await diskFullRun(mode);
      const lines = run.stdout.trim().split('\n');
      expect(lines, run.stdout + run.stderr).toContain('SHUT DOWN lock=false');
      // The same process opens the store again: its lock and lmdb's environment were released.
      expect(lines.some((line) => /^REOPENED pending=\d+$/.test(line))).toBe(true);
      expect(lines.at(-1)).toBe('DONE');
      // And so does this one.
      expect(existsSync(join(path, 'worker.lock'))).toBe(false);
      const store = lmdbBacklog({ path });
      store.open({ onCorrupt() {}, onWriteError() {} });
      await store.close();
    },
    CHILD_LIMIT_MS,
  );
});

/**
 * A store whose appends wait until the test releases (or refuses) them: a
 * group commit held in flight. `appended(n)` resolves once `n` appends in all
 * have been asked for.
 */
function heldAppends(inner: BacklogStore) {
  const held: { records: readonly BacklogRecord[]; resolve(): void; reject(e: Error): void }[] = [];
  const asked: { count: number; resolve(): void }[] = [];
  let appends = 0;
  const store: BacklogStore = Object.assign(Object.create(inner) as BacklogStore, {
    append: (records: readonly BacklogRecord[]) =>
      new Promise<void>((resolve, reject) => {
        held.push({ records, resolve, reject });
        appends++;
        for (const waiter of asked.filter((w) => w.count <= appends)) waiter.resolve();
      }),
  });
  return {
    store,
    appended: (count: number) =>
      new Promise<void>((resolve) => {
        if (appends >= count) resolve();
        else asked.push({ count, resolve });
      }),
    /** Writes the held appends to the inner store, then resolves them. */
    release: async () => {
      for (const append of held.splice(0)) {
        // Called on the wrapper: the store's state set by open() lives there.
        await inner.append.call(store, append.records);
        append.resolve();
      }
    },
    /** Refuses the oldest held append, as a full disk would. */
    refuseOldest: () => {
      held.shift()?.reject(new Error('ENOSPC: no space left on device, write'));
    },
  };
}

const STORES: readonly [string, () => BacklogStore][] = [
  ['memoryBacklog', () => memoryBacklog()],
  ['lmdbBacklog', () => lmdbBacklog({ path: tempDir() })],
];

describe('requeueDeadLetters() while a group commit is in flight', () => {
  it.each(STORES)(
    '(%s) delivers the flushed task of the same key, and the requeued one, once each',
    async (_, makeStore) => {
      const inner = makeStore();
      const gate = heldAppends(inner);
      const { worker, remote } = durableWorker({ breaker: false }, gate.store);
      remote.answer(() => {
        throw new NonRetryableError('rejected');
      });
      worker.enqueue({ handler: 'write', payload: 'dead', key: 'k', id: 'dead' });
      await gate.appended(1);
      await gate.release();
      await worker.onIdle(); // "dead" is a dead letter of key k
      remote.answer(() => 'ok');

      worker.enqueue({ handler: 'write', payload: 'kept', key: 'k', id: 'kept' });
      const flushed = worker.flush();
      await gate.appended(2); // the commit of "kept" is in flight
      await expect(worker.requeueDeadLetters()).resolves.toBe(1);
      await gate.release();
      await flushed; // "kept" is durable: it must be delivered
      await worker.onIdle();

      expect(remote.delivered.map((call) => call.id).sort()).toEqual(['dead', 'kept']);
      expect(worker.stats().backlog).toBe(0);
      await gate.store.flush(); // lmdb writes removals in the background
      expect(gate.store.stats()).toMatchObject({ pending: 0, deadLetters: 0 });
      await worker.shutdown();
    },
  );
});

describe('requeueDeadLetters() in flight', () => {
  it('tasks of another key, accepted meanwhile and kept beyond memory, run once it ends', async () => {
    const inner = memoryBacklog();
    let fsynced!: () => void;
    const store: BacklogStore = Object.assign(Object.create(inner) as BacklogStore, {
      // The revived record is readable at once; the requeue ends when the test says.
      requeueDead: async (nextSeq: () => number) => {
        const revived = await inner.requeueDead.call(store, nextSeq);
        await new Promise<void>((resolve) => {
          fsynced = resolve;
        });
        return revived;
      },
    });
    const { worker, remote } = durableWorker({ breaker: false, maxQueue: 1 }, store);
    remote.answer(() => {
      throw new NonRetryableError('rejected');
    });
    worker.enqueue({ handler: 'write', payload: 'x', key: 'd', id: 'x' });
    await worker.onIdle(); // x is a dead letter
    remote.answer(() => 'ok');
    const requeued = worker.requeueDeadLetters();
    for (let i = 0; i < 4; i++) worker.enqueue({ handler: 'write', payload: `a${i}`, key: 'a' });
    await worker.flush(); // a0 in memory, a1…a3 only in the store, newer than the requeue
    fsynced();
    await expect(requeued).resolves.toBe(1);
    await worker.onIdle();
    expect(remote.deliveredOf('a')).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(remote.deliveredOf('d')).toEqual(['x']);
    expect(worker.stats().backlog).toBe(0);
  });
});

describe('flush() after a refused group commit', () => {
  it('rejects when a commit of the tasks it covers was refused, though a later one landed', async () => {
    const gate = heldAppends(memoryBacklog());
    const { worker, remote } = durableWorker({ breaker: false }, gate.store);
    const failed: Error[] = [];
    worker.on('taskFailed', ({ error }) => failed.push(error));
    worker.enqueue({ handler: 'write', payload: 'first', key: 'k' });
    await gate.appended(1); // "first" is being written
    worker.enqueue({ handler: 'write', payload: 'second', key: 'k' }); // waits for the next commit
    const flushed = worker.flush(); // covers both
    const outcome = flushed.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    gate.refuseOldest(); // "first" is not kept
    await gate.appended(2);
    await gate.release(); // "second" is
    expect(await outcome).toBeInstanceOf(BacklogFullError);
    expect(failed).toHaveLength(1);
    await worker.onIdle();
    expect(remote.delivered.map((call) => call.payload)).toEqual(['second']);
    await worker.shutdown();
  });
});
