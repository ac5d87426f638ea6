/**
 * Faults of the durable path: a store that refuses a group commit (a full
 * disk), and a dead-letter requeue racing a group commit. Each test goes
 * through the public API, `new SyncWorker({ handlers, backlog })`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { lmdbBacklog } from '../../src/lmdb/index.js';

const DISK_FULL_CHILD = fileURLToPath(
  new URL('../fixtures/durable-disk-full-child.ts', import.meta.url),
);
/** `ulimit -f` blocks (512 or 1024 bytes, by shell): the store's file stops growing at 256 KiB or 512 KiB. */
const FILE_LIMIT_BLOCKS = 512;
/** A generous bound on one child's run (start-up with tsx takes about a second), not a timing assertion. */
const CHILD_LIMIT_MS = 30_000;

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xsw-faults-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

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
