import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BacklogError,
  BacklogLockedError,
  type BacklogRecord,
  type BacklogStore,
  type SyncWorkerEvents,
} from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { advance, durableWorker } from '../support/durable.js';
import { tempDirs } from '../support/temp-dirs.js';

const hooks = { onCorrupt() {}, onWriteError() {} };
const tempDir = tempDirs('xsw-lmdb-');

function record(seq: number, key: string, payload: string): BacklogRecord {
  return { seq, id: `id-${seq}`, key, handler: 'write', payload, attempts: 0, enqueuedAt: 1 };
}

describe('lmdbBacklog', () => {
  it('a new worker on the same path delivers what the last one kept, per key in order', async () => {
    const path = tempDir();
    const first = durableWorker(
      { breaker: { failureThreshold: 1, probeIntervalMs: 60_000 } },
      lmdbBacklog({ path }),
    );
    first.remote.answer(() => {
      throw new Error('down');
    });
    for (let i = 0; i < 6; i++)
      first.worker.enqueue({ handler: 'write', payload: i, key: `s${i % 2}` });
    await first.worker.flush();
    await first.worker.shutdown();
    expect(first.remote.calls).toHaveLength(1);

    // The store remembers the outage: the new worker's breaker resumes it, then probes.
    const second = durableWorker({}, lmdbBacklog({ path }));
    expect(second.worker.breaker?.state).toBe('open');
    await advance(second.clock, 60_000);
    await second.worker.onIdle();
    expect(second.remote.deliveredOf('s0')).toEqual([0, 2, 4]);
    expect(second.remote.deliveredOf('s1')).toEqual([1, 3, 5]);
    await second.worker.shutdown();
  });

  it('stores records as versioned JSON under [key, seq]', async () => {
    const path = tempDir();
    const store = lmdbBacklog({ path });
    store.open(hooks);
    await store.append([{ ...record(7, 'k', 'p'), lastError: 'boom' }]);
    const raw = (store as unknown as { raw: { tasks: { get(k: unknown): string } } }).raw;
    expect(JSON.parse(raw.tasks.get(['k', 7]))).toEqual({
      v: 1,
      id: 'id-7',
      key: 'k',
      handler: 'write',
      payload: 'p',
      attempts: 0,
      enqueuedAt: 1,
      lastError: 'boom',
    });
    await store.close();
  });

  it('a second owner gets BacklogLockedError naming the holder; read-only opens work beside it', async () => {
    const path = tempDir();
    const { worker } = durableWorker({}, lmdbBacklog({ path }));
    let thrown: unknown;
    try {
      durableWorker({}, lmdbBacklog({ path }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BacklogLockedError);
    expect((thrown as BacklogLockedError).message).toContain(path);
    expect((thrown as BacklogLockedError).holderPid).toBe(process.pid);
    const reader = lmdbBacklog({ path, readOnly: true });
    expect(reader.open(hooks).pending).toBe(0);
    expect(reader.stats().pending).toBe(0);
    await reader.close();
    await worker.shutdown();
    // Released at shutdown: the next owner opens it.
    const next = durableWorker({}, lmdbBacklog({ path }));
    await next.worker.shutdown();
  });

  it('a lock left by a process that died does not stop the next start', async () => {
    const path = tempDir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    writeFileSync(join(path, 'worker.lock'), JSON.stringify({ pid: dead, host: hostname() }));
    const { worker } = durableWorker({}, lmdbBacklog({ path }));
    expect(JSON.parse(readFileSync(join(path, 'worker.lock'), 'utf8')).pid).toBe(process.pid);
    await worker.shutdown();
  });

  it('a path that cannot be created gives a BacklogError naming it', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    const path = join(file, 'backlog');
    let thrown: unknown;
    try {
      durableWorker({}, lmdbBacklog({ path }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BacklogError);
    expect((thrown as BacklogError).message).toContain(path);
    expect((thrown as BacklogError).location).toBe(path);
  });

  it('a garbled record goes to the dead letters and does not block the records behind it', async () => {
    const path = tempDir();
    const store: BacklogStore = lmdbBacklog({ path });
    store.open(hooks);
    await store.append([record(1, 'k', 'first'), record(3, 'k', 'third')]);
    const raw = (
      store as unknown as { raw: { tasks: { put(k: unknown, v: string): Promise<unknown> } } }
    ).raw;
    await raw.tasks.put(['k', 2], '{"v":1,"id":'); // torn JSON, as a bug or a bad tool could leave it
    await store.close();

    const { worker, remote, deadLetters } = durableWorker({}, lmdbBacklog({ path }));
    const failed: SyncWorkerEvents['taskFailed'][] = [];
    worker.on('taskFailed', (event) => failed.push(event));
    await worker.onIdle();
    expect(remote.delivered.map((c) => c.payload)).toEqual(['first', 'third']);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.task).toMatchObject({ seq: 2, key: 'k', payload: '{"v":1,"id":' });
    expect(deadLetters[0]?.task).toHaveProperty(
      'reason',
      expect.stringMatching(/could not be read/),
    );
    expect(failed).toHaveLength(1);
    expect(worker.stats()).toMatchObject({ deadLettered: 1, backlog: 0, completed: 2 });
    await worker.shutdown();
    const after = lmdbBacklog({ path, readOnly: true });
    after.open(hooks);
    expect(after.deadLetters().map((d) => d.seq)).toEqual([2]);
    await after.close();
  });

  it('refuses a missing or empty path', () => {
    expect(() => lmdbBacklog({ path: '' })).toThrow(TypeError);
    expect(() => lmdbBacklog(undefined as never)).toThrow(/path must be a non-empty string/);
  });
});
