/**
 * Stores and locks a worker must refuse, and say why: a read-only store, a lock from
 * another host, a path on a virtual file system, a store past its `maxBytes`; and the one
 * directory sync a brand-new store gets.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/backlogCommand.js';
import {
  BacklogFullError,
  BacklogLockedError,
  type BacklogRecord,
  SyncWorker,
  type SyncWorkerEvents,
} from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { lmdbBacklogWith } from '../../src/lmdb/lmdbBacklog.js';
import { advance, durableWorker } from '../support/durable.js';
import { tempDirs } from '../support/temp-dirs.js';
import { thrownBy } from '../support/thrown.js';

const OPEN_CHILD = fileURLToPath(new URL('../fixtures/open-store-child.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Opens a worker on `path` in a fresh Node, killed after a generous bound; resolves with what it said. */
function openInChild(path: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', OPEN_CHILD, path],
      { cwd: repoRoot, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`the child failed or hung: ${error.message} ${stderr}`));
        else resolve({ stdout });
      },
    );
  });
}

const tempDir = tempDirs('xsw-refuse-');
const hooks = { onCorrupt() {}, onWriteError() {} };

function record(seq: number, payload: string): BacklogRecord {
  return { seq, id: `id-${seq}`, key: 'k', handler: 'write', payload, attempts: 0, enqueuedAt: 1 };
}

describe('a read-only store', () => {
  it('is refused by the worker constructor, naming the backlog option and why, and stays untouched', async () => {
    const path = tempDir();
    const owner = lmdbBacklog({ path });
    owner.open(hooks);
    await owner.append([record(1, 'kept')]);

    const thrown = thrownBy(
      () =>
        new SyncWorker({
          backlog: lmdbBacklog({ path, readOnly: true }),
          handlers: { write() {} },
        }),
    );
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/^SyncWorker: backlog must be a writable store/);
    expect((thrown as Error).message).toContain(`${path} was opened with readOnly: true`);
    expect((thrown as Error).message).toContain('a worker must own its store');
    // Nothing was delivered twice: the owner still has its task.
    expect(owner.stats().pending).toBe(1);
    await owner.close();
  });
});

describe('a lock held from another host', () => {
  it('names the host and the lock file, and says how to clear it when that host is gone', async () => {
    const path = tempDir();
    const made = lmdbBacklog({ path });
    made.open(hooks);
    await made.close();
    const lockFile = join(path, 'worker.lock');
    const host = `${hostname()}-elsewhere`;
    writeFileSync(lockFile, JSON.stringify({ pid: 4242, host }));

    const thrown = thrownBy(() => durableWorker({}, lmdbBacklog({ path })));
    expect(thrown).toBeInstanceOf(BacklogLockedError);
    const error = thrown as BacklogLockedError;
    expect(error).toMatchObject({
      holderPid: 4242,
      holderHost: host,
      lockFile,
      sameProcess: false,
    });
    expect(error.message).toContain(`locked by process 4242 on host "${host}"`);
    expect(error.message).toContain(`(lock file ${lockFile})`);
    expect(error.message).toContain(
      `if you know no worker runs there any more, delete ${lockFile}`,
    );

    // The CLI says the same, on one line.
    let stderr = '';
    const code = await runCli(['backlog', path, 'requeue-dead'], {
      stdout: { write: () => true },
      stderr: {
        write(chunk: string) {
          stderr += chunk;
          return true;
        },
      },
    });
    expect(code).toBe(1);
    expect(stderr).toBe(`xstate-sync-worker: ${error.message}\n`);
  });

  it('a lock of a live process on this host asks to stop that worker', () => {
    const path = tempDir();
    const lockFile = join(path, 'worker.lock');
    // The parent process of this one (vitest's runner) is alive and is not this process.
    writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, host: hostname() }));
    const error = thrownBy(() => durableWorker({}, lmdbBacklog({ path }))) as BacklogLockedError;
    expect(error).toBeInstanceOf(BacklogLockedError);
    expect(error.holderHost).toBeUndefined();
    expect(error.message).toBe(
      `backlog ${path} is locked by process ${process.ppid} (lock file ${lockFile}); one store has one owner: stop that worker first`,
    );
  });
});

describe('a path the file system cannot hold a store in', () => {
  it.skipIf(process.platform !== 'linux')(
    'under /proc: the constructor throws a BacklogError naming it instead of spinning',
    async () => {
      // In a child: a constructor that spins would hang this test file; a child is killed
      // at the bound (generous, not a timing assertion) and the test fails instead.
      const path = `/proc/xsw-${process.pid}/backlog`;
      const { stdout } = await openInChild(path);
      expect(JSON.parse(stdout.trim())).toEqual({
        name: 'BacklogError',
        location: path,
        message: `cannot create the directory of backlog ${path}: mkdir /proc/xsw-${process.pid} failed with ENOENT although /proc exists: a virtual file system such as /proc or /sys holds no stores`,
      });
    },
    30_000,
  );

  it('missing parents are created, each once', async () => {
    const path = join(tempDir(), 'a', 'b', 'store');
    const { worker } = durableWorker({}, lmdbBacklog({ path }));
    expect(statSync(path).isDirectory()).toBe(true);
    await worker.shutdown();
  });
});

describe('a brand-new store', () => {
  it('syncs its directory once, after the data file and the lock exist; a reopened one does not', async () => {
    const parent = tempDir();
    const path = join(parent, 'store');
    const synced: { directory: string; entries: string[] }[] = [];
    const fs = {
      syncDirectory(directory: string) {
        synced.push({ directory, entries: readdirSync(directory).sort() });
      },
    };
    const first = lmdbBacklogWith({ path }, fs);
    first.open(hooks);
    await first.close();
    expect(synced).toEqual([
      { directory: path, entries: ['backlog.mdb', 'backlog.mdb-lock', 'worker.lock'] },
      { directory: parent, entries: ['store'] }, // the store's own directory was new too
    ]);

    synced.length = 0;
    const again = lmdbBacklogWith({ path }, fs);
    again.open(hooks);
    await again.close();
    expect(synced).toEqual([]);
  });
});

describe('mapSize and maxBytes', () => {
  it('mapSize is where the map starts, not a limit: lmdb grows past it', async () => {
    const path = tempDir();
    const store = lmdbBacklog({ path, mapSize: 256 * 1024 });
    store.open(hooks);
    await store.append(Array.from({ length: 200 }, (_, i) => record(i + 1, 'x'.repeat(2_000))));
    await store.close();
    expect(statSync(join(path, 'backlog.mdb')).size).toBeGreaterThan(256 * 1024);
  });

  it('maxBytes refuses the commit that would pass it, with a BacklogFullError, and keeps the file near it', async () => {
    const path = tempDir();
    const maxBytes = 128 * 1024;
    const store = lmdbBacklog({ path, maxBytes });
    store.open(hooks);
    let refusal: unknown;
    let kept = 0;
    for (let seq = 1; seq <= 200 && refusal === undefined; seq++) {
      try {
        await store.append([record(seq, 'x'.repeat(2_000))]);
        kept++;
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toBeInstanceOf(BacklogFullError);
    expect((refusal as Error).message).toMatch(
      new RegExp(
        `^backlog ${path} is full: \\d+ bytes in use and \\d+ more for 1 record\\(s\\) would pass maxBytes \\(${maxBytes}\\)$`,
      ),
    );
    expect(kept).toBeGreaterThan(10);
    expect(store.stats().pending).toBe(kept);
    await store.close();
    // The cap counts the pages in use; the file also holds the few freed pages LMDB keeps
    // for reuse. Without the cap, these 200 records make a file of about 860 KiB.
    const slack = 16 * 4096;
    expect(statSync(join(path, 'backlog.mdb')).size).toBeLessThanOrEqual(maxBytes + slack);
  });

  it('a worker whose store is full fails the tasks of the refused commit, and takes new ones once deliveries free space', async () => {
    const path = tempDir();
    const { worker, clock, remote, backlog } = durableWorker(
      { breaker: false },
      lmdbBacklog({ path, maxBytes: 64 * 1024 }),
    );
    let up = false;
    remote.answer(() => {
      if (!up) throw new Error('down');
    });
    const failed: SyncWorkerEvents['taskFailed'][] = [];
    worker.on('taskFailed', (event) => failed.push(event));
    const big = 'x'.repeat(2_000);
    let flushError: unknown;
    for (let i = 0; i < 60 && flushError === undefined; i++) {
      worker.enqueue({ handler: 'write', payload: big, key: `k${i}` });
      flushError = await worker.flush().then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect(flushError).toBeInstanceOf(BacklogFullError);
    expect(failed.at(-1)?.error).toBeInstanceOf(BacklogFullError);
    expect(failed.at(-1)?.error.message).toContain('maxBytes (65536)');

    // The remote comes back: deliveries free the pages, and the store takes tasks again.
    up = true;
    await advance(clock, 60_000);
    await worker.onIdle();
    await backlog.flush(); // the deliveries' removes are committed: their pages are free
    expect(worker.enqueue({ handler: 'write', payload: big, key: 'after' })).toBe(true);
    await worker.flush();
    await worker.onIdle();
    expect(remote.deliveredOf('after')).toEqual([big]);
    await worker.shutdown();
  });

  it('refuses a maxBytes or mapSize that is not a positive whole number of bytes, and unknown options', () => {
    const path = tempDir();
    expect(() => lmdbBacklog({ path, maxBytes: 0 })).toThrow(RangeError);
    expect(() => lmdbBacklog({ path, maxBytes: 1.5 })).toThrow(
      /maxBytes must be a positive whole number/,
    );
    expect(() => lmdbBacklog({ path, mapSize: '1GB' as never })).toThrow(TypeError);
    expect(() => lmdbBacklog({ path, maxSize: 1 } as never)).toThrow(/an unknown option "maxSize"/);
  });
});
