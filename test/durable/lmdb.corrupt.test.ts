/**
 * A `backlog.mdb` that is not an LMDB file lmdb can map. lmdb-js ends the process with
 * SIGSEGV or SIGBUS on such a file, before any error can be thrown, so the store checks
 * the file's meta pages first. Each kind of bad file is opened in child processes, by a
 * worker and by the CLI, so that a crash shows as a signal here instead of ending vitest.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BacklogRecord } from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { mulberry32 } from '../support/random.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('xsw-corrupt-');
const hooks = { onCorrupt() {}, onWriteError() {} };
const OPEN_CHILD = fileURLToPath(new URL('../fixtures/open-store-child.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const SIZE = 64 * 1024;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript entry in a fresh Node; the bound is generous, not a timing assertion. */
function run(entry: string, args: readonly string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', entry, ...args],
      { cwd: repoRoot, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error?.killed && child.signalCode === 'SIGTERM') {
          reject(new Error(`${entry} did not exit on its own: ${stderr}`));
        } else resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
      },
    );
  });
}

/** A real store with enough records to span many pages; returns its directory. */
async function realStore(): Promise<string> {
  const path = tempDir();
  const store = lmdbBacklog({ path });
  store.open(hooks);
  const records: BacklogRecord[] = Array.from({ length: 200 }, (_, i) => ({
    seq: i + 1,
    id: `id-${i}`,
    key: `k${i % 3}`,
    handler: 'write',
    payload: 'x'.repeat(2_000),
    attempts: 0,
    enqueuedAt: 1,
  }));
  await store.append(records);
  await store.close();
  return path;
}

function dataFile(path: string): string {
  return join(path, 'backlog.mdb');
}

/** A store directory whose backlog.mdb holds `bytes`. */
function storeWith(bytes: Uint8Array): string {
  const path = tempDir();
  writeFileSync(dataFile(path), bytes);
  return path;
}

async function truncatedTo(bytes: number): Promise<string> {
  const path = await realStore();
  writeFileSync(dataFile(path), readFileSync(dataFile(path)).subarray(0, bytes));
  return path;
}

/** A real store whose meta pages say data format `version` (lmdb 0.9 files say 1). */
async function withVersion(version: number): Promise<string> {
  const path = await realStore();
  const file = readFileSync(dataFile(path));
  const pageSize = file.readUInt32LE(48);
  for (const page of [0, pageSize]) file.writeUInt32LE(version, page + 28);
  writeFileSync(dataFile(path), file);
  return path;
}

function randomBytes(seed: number): Uint8Array {
  const next = mulberry32(seed);
  return Uint8Array.from({ length: SIZE }, () => Math.floor(next() * 256));
}

const kinds: [string, () => string | Promise<string>, RegExp][] = [
  ['text', () => storeWith(Buffer.from('not a database\n'.repeat(SIZE / 15))), /not an LMDB file/],
  ['zeros', () => storeWith(new Uint8Array(SIZE)), /not an LMDB file/],
  ['random bytes', () => storeWith(randomBytes(16)), /not an LMDB file/],
  ['truncated after its meta pages', () => truncatedTo(20_000), /is truncated: .* needs at least/],
  ['truncated inside its meta pages', () => truncatedTo(3_000), /truncated or not an LMDB file/],
  ['of LMDB data format version 1', () => withVersion(1), /data format version 1/],
];

describe('a backlog.mdb that lmdb cannot map', () => {
  it.each(kinds)(
    '%s: the worker throws a BacklogError naming it, the CLI prints one line',
    async (_, make, reason) => {
      const path = await make();
      const [worker, cli] = await Promise.all([
        run(OPEN_CHILD, [path]),
        run(CLI, ['backlog', path, 'stats']),
      ]);

      expect(worker.signal, worker.stderr).toBeNull();
      const thrown = JSON.parse(worker.stdout.trim()) as Record<string, string>;
      expect(thrown).toMatchObject({ name: 'BacklogError', location: path });
      expect(thrown.message).toContain(dataFile(path));
      expect(thrown.message).toMatch(reason);
      expect(thrown.message).toContain('move it aside');

      expect(cli.signal, cli.stderr).toBeNull();
      expect(cli.code).toBe(1);
      expect(cli.stdout).toBe('');
      expect(cli.stderr).toMatch(/^xstate-sync-worker: cannot open backlog .+\n$/);
      expect(cli.stderr).toContain(dataFile(path));
      expect(cli.stderr).toMatch(reason);
    },
    30_000,
  );

  it('a sound store still opens, and an empty data file (a crash before its first write) starts afresh', async () => {
    const sound = await realStore();
    const empty = storeWith(new Uint8Array(0));
    const [opened, fresh] = await Promise.all([run(OPEN_CHILD, [sound]), run(OPEN_CHILD, [empty])]);
    expect(JSON.parse(opened.stdout.trim())).toEqual({ opened: true });
    expect(JSON.parse(fresh.stdout.trim())).toEqual({ opened: true });
  }, 30_000);

  it('a sound store whose meta pages count a free page past its end opens (the crash loop found one)', async () => {
    // LMDB's last page may lie past the end of the file when the pages at the end are free:
    // a SIGKILL left a file of 15 pages whose meta page named page 15. Made here by moving
    // the last page up by one in both meta pages; the roots stay where they are.
    const path = await realStore();
    const file = readFileSync(dataFile(path));
    const pageSize = file.readUInt32LE(48);
    for (const page of [0, pageSize]) {
      file.writeBigUInt64LE(BigInt(file.length / pageSize), page + 144);
    }
    writeFileSync(dataFile(path), file);
    const opened = await run(OPEN_CHILD, [path]);
    expect(opened.signal, opened.stderr).toBeNull();
    expect(JSON.parse(opened.stdout.trim())).toEqual({ opened: true });
  }, 30_000);

  it('read-only, as the CLI opens it, an empty data file is refused: there is nothing to read', async () => {
    const path = storeWith(new Uint8Array(0));
    const cli = await run(CLI, ['backlog', path, 'stats']);
    expect(cli.signal, cli.stderr).toBeNull();
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe(
      `xstate-sync-worker: cannot open backlog ${path} read-only: ${dataFile(path)} is empty (0 bytes)\n`,
    );
  }, 30_000);
});
