import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { BacklogRecord, BacklogStore, DeadLetter } from '../../src/backlog/types.js';
import { runCli } from '../../src/cli/backlogCommand.js';
import { formatAge, oneLine } from '../../src/cli/format.js';
import { lmdbBacklog } from '../../src/lmdb/lmdbBacklog.js';

const NOW = 1_700_000_000_000;
const hooks = { onCorrupt() {}, onWriteError() {} };
const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const dirs: string[] = [];
const openStores: BacklogStore[] = [];

afterEach(async () => {
  for (const store of openStores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'xsw-cli-'));
  dirs.push(dir);
  return dir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command line in this process with captured outputs and a fixed clock. */
async function cli(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: {
      write(chunk: string) {
        stdout += chunk;
        return true;
      },
    },
    stderr: {
      write(chunk: string) {
        stderr += chunk;
        return true;
      },
    },
    now: () => NOW,
  });
  return { code, stdout, stderr };
}

function record(seq: number, key: string, fields: Partial<BacklogRecord> = {}): BacklogRecord {
  return {
    seq,
    id: `task-${seq}`,
    key,
    handler: 'push',
    payload: { seq, note: `payload ${seq}` },
    attempts: 0,
    enqueuedAt: NOW - 1000 * (100 - seq),
    ...fields,
  };
}

/** Seven records, 1–7; 5 and 7 are buried, leaving five pending over three keys. */
const PENDING = [
  record(1, 'orders', {
    attempts: 2,
    lastError: 'HTTP 503\nretry later',
    enqueuedAt: NOW - 192_000,
  }),
  record(2, 'users'),
  record(3, 'orders'),
  record(4, 'audit', { payload: [1, 'two', null] }),
  record(6, 'orders', { attempts: 1, lastError: 'timeout' }),
];
const DEAD: DeadLetter[] = [
  { ...record(5, 'users', { attempts: 5 }), deadAt: NOW - 500, reason: 'used its attempts' },
  { ...record(7, 'audit', { attempts: 1 }), deadAt: NOW - 100, reason: 'HTTP 400' },
];

/** A store on disk with {@link PENDING} and {@link DEAD}, closed again. */
async function fixtureStore(): Promise<string> {
  const path = join(tempDir(), 'backlog');
  const store = lmdbBacklog({ path });
  store.open(hooks);
  await store.append([...PENDING, ...DEAD.map(({ deadAt: _d, reason: _r, ...rest }) => rest)]);
  for (const letter of DEAD) store.bury(letter);
  await store.flush();
  await store.close();
  return path;
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function expectOneLineError(run: Run): void {
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^xstate-sync-worker: /);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('help, version and usage', () => {
  const COMMANDS = ['stats', 'list', 'export', 'requeue-dead', 'purge'];

  it('prints the usage on stdout with --help or -h, anywhere, exit 0', async () => {
    for (const argv of [
      ['--help'],
      ['-h'],
      ['backlog', '/x', 'stats', '--help'],
      ['-h', '--bad'],
    ]) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/^Usage: xstate-sync-worker backlog <path> <command>/);
      for (const command of COMMANDS) expect(run.stdout).toContain(command);
      expect(run.stderr).toBe('');
    }
  });

  it('--version prints the version of package.json, exit 0', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    );
    const run = await cli('--version');
    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('without arguments is a usage error: the usage on stderr, exit 2', async () => {
    const run = await cli();
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Usage: xstate-sync-worker backlog <path> <command>/);
  });

  it('refuses bad arguments in one line of its own, exit 2', async () => {
    const cases: [string[], string][] = [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['backlog'], 'missing the backlog <path>'],
      [['backlog', '/x', 'compact'], 'unknown backlog command "compact"'],
      [['backlog', '/x'], 'missing the backlog command'],
      [['backlog', '/x', 'stats', '--verbose'], 'unknown option --verbose'],
      [['backlog', '/x', 'stats', '-v'], 'unknown option -v'],
      [['backlog', '/x', 'stats', '--json=yes'], 'option --json takes no value'],
      [['backlog', '/x', 'list', '--key'], 'option --key needs a value'],
      [['backlog', '/x', 'list', '--key', '--limit', '5'], 'option --key needs a value'],
      [['backlog', '/x', 'list', '--limit', '2', '--limit', '3'], 'option --limit is given twice'],
      [['backlog', '/x', 'export', '--json'], 'option --json does not apply to "export"'],
      [
        ['backlog', '/x', 'list', '--limit', 'ten'],
        '--limit must be a positive integer, not "ten"',
      ],
      [['backlog', '/x', 'stats', 'extra'], 'unexpected argument "extra"'],
    ];
    for (const [argv, message] of cases) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`xstate-sync-worker: ${message} (see xstate-sync-worker --help)\n`);
    }
  });

  it('takes a key that starts with a dash when it is written inline', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'list', '--key=-odd');
    expect(run).toMatchObject({ code: 0, stdout: 'no pending tasks for key "-odd"\n' });
  });
});

describe('formatting', () => {
  it('formats ages with their two largest units', () => {
    expect(formatAge(0)).toBe('0s');
    expect(formatAge(999)).toBe('0s');
    expect(formatAge(45_000)).toBe('45s');
    expect(formatAge(192_000)).toBe('3m 12s');
    expect(formatAge(180_000)).toBe('3m');
    expect(formatAge(2 * 3_600_000 + 5 * 60_000 + 7_000)).toBe('2h 5m');
    expect(formatAge(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d 4h');
    expect(formatAge(-5)).toBe('0s');
  });

  it('keeps cells on one line', () => {
    expect(oneLine('a\nb\tc\u0001')).toBe('a\\nb\\tc\\u0001');
    expect(oneLine('')).toBe('""');
  });
});

describe('read-only commands', () => {
  it('stats prints counts per key, the oldest age and the dead letters', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'stats');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`backlog ${path}`);
    expect(lines[1]).toBe('pending: 5 in 3 keys');
    expect(lines.slice(2, 5).map((l) => l.trim().split(/\s+/))).toEqual([
      ['audit', '1'],
      ['orders', '3'],
      ['users', '1'],
    ]);
    expect(lines[5]).toBe(
      `oldest pending: 3m 12s (enqueued ${new Date(NOW - 192_000).toISOString()})`,
    );
    expect(lines[6]).toBe('dead letters: 2');
  });

  it('stats --json prints the same as JSON', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'stats', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      location: path,
      pending: 5,
      byKey: { audit: 1, orders: 3, users: 1 },
      oldestEnqueuedAt: NOW - 192_000,
      oldestAgeMs: 192_000,
      deadLetters: 2,
    });
  });

  it('stats --json of an empty store has no oldest task', async () => {
    const path = await fixtureStore();
    expect((await cli('backlog', path, 'purge', '--yes')).code).toBe(0);
    const report = JSON.parse((await cli('backlog', path, 'stats', '--json')).stdout);
    expect(report).toMatchObject({ pending: 0, byKey: {}, oldestEnqueuedAt: null, deadLetters: 0 });
  });

  it('list prints pending records oldest first, one line each', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'list');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'SEQ',
      'KEY',
      'ID',
      'HANDLER',
      'ATTEMPTS',
      'AGE',
      'LAST ERROR',
    ]);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(['1', '2', '3', '4', '6']);
    expect(rows[0]?.split(/\s{2,}/)).toEqual([
      '1',
      'orders',
      'task-1',
      'push',
      '2',
      '3m 12s',
      'HTTP 503\\nretry later',
    ]);
    expect(rows[1]?.split(/\s{2,}/)).toEqual(['2', 'users', 'task-2', 'push', '0', '1m 38s', '-']);
  });

  it('list --key and --limit narrow it, and say when more are pending', async () => {
    const path = await fixtureStore();
    const byKey = await cli('backlog', path, 'list', '--key', 'orders');
    expect(byKey.code).toBe(0);
    expect(
      byKey.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((row) => row.split(/\s+/).slice(0, 2)),
    ).toEqual([
      ['1', 'orders'],
      ['3', 'orders'],
      ['6', 'orders'],
    ]);
    expect(byKey.stderr).toBe('');

    const limited = await cli('backlog', path, 'list', '--key', 'orders', '--limit', '2');
    expect(limited.code).toBe(0);
    expect(limited.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(limited.stderr).toContain('showing the oldest 2 tasks');

    const exact = await cli('backlog', path, 'list', '--limit', '5');
    expect(exact.stdout.trimEnd().split('\n')).toHaveLength(6);
    expect(exact.stderr).toBe('');

    const none = await cli('backlog', path, 'list', '--key', 'nobody');
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('no pending tasks for key "nobody"\n');
  });

  it('list --json prints the same columns as one JSON document', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'list', '--json', '--key', 'orders', '--limit', '2');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      location: path,
      tasks: [
        {
          seq: 1,
          key: 'orders',
          id: 'task-1',
          handler: 'push',
          attempts: 2,
          enqueuedAt: NOW - 192_000,
          ageMs: 192_000,
          lastError: 'HTTP 503\nretry later',
        },
        {
          seq: 3,
          key: 'orders',
          id: 'task-3',
          handler: 'push',
          attempts: 0,
          enqueuedAt: NOW - 97_000,
          ageMs: 97_000,
          lastError: null,
        },
      ],
      more: true,
    });
    const all = JSON.parse((await cli('backlog', path, 'list', '--json')).stdout);
    expect(all.tasks.map((t: { seq: number }) => t.seq)).toEqual([1, 2, 3, 4, 6]);
    expect(all.more).toBe(false);
  });

  it('export prints every pending record as a JSON line that parses back', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'export');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(parseLines(run.stdout)).toEqual(PENDING.map((r) => ({ v: 1, ...r })));
  });

  it('export --dead prints the dead letters instead', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'export', '--dead');
    expect(run.code).toBe(0);
    expect(parseLines(run.stdout)).toEqual(DEAD.map((letter) => ({ v: 1, ...letter })));
  });
});

describe('writing commands', () => {
  it('requeue-dead moves dead letters back with fresh attempts and the same id', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'requeue-dead');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`requeued 2 dead letters in ${path}\n`);
    expect((await cli('backlog', path, 'export', '--dead')).stdout).toBe('');

    const pending = parseLines((await cli('backlog', path, 'export')).stdout);
    expect(pending).toHaveLength(7);
    const revived = pending.filter((r) => r.id === 'task-5' || r.id === 'task-7');
    expect(revived).toEqual([
      expect.objectContaining({ id: 'task-5', key: 'users', seq: 8, attempts: 0 }),
      expect.objectContaining({ id: 'task-7', key: 'audit', seq: 9, attempts: 0 }),
    ]);
    expect(revived.every((r) => !('reason' in r) && !('deadAt' in r))).toBe(true);
    // The lock was released: a worker can own the store now.
    const store = lmdbBacklog({ path });
    expect(store.open(hooks).nextSeq).toBe(10);
    await store.close();

    const again = await cli('backlog', path, 'requeue-dead');
    expect(again.stdout).toBe(`no dead letters in ${path}\n`);
  });

  it('purge refuses without --yes, exit 2, and deletes nothing', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'purge');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expectOneLineError(run);
    expect(run.stderr).toContain('--yes');
    const report = JSON.parse((await cli('backlog', path, 'stats', '--json')).stdout);
    expect(report).toMatchObject({ pending: 5, deadLetters: 2 });
  });

  it('purge --yes deletes every pending record and dead letter', async () => {
    const path = await fixtureStore();
    const run = await cli('backlog', path, 'purge', '--yes');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`purged 7 records (5 pending tasks, 2 dead letters) from ${path}\n`);
    expect((await cli('backlog', path, 'export')).stdout).toBe('');
    expect((await cli('backlog', path, 'export', '--dead')).stdout).toBe('');
    expect(existsSync(join(path, 'worker.lock'))).toBe(false);
  });
});

describe('failures', () => {
  it('a missing directory fails with exit 1, names the path and creates nothing', async () => {
    const path = join(tempDir(), 'not', 'there');
    for (const command of [['stats'], ['list'], ['export'], ['requeue-dead'], ['purge', '--yes']]) {
      const run = await cli('backlog', path, ...command);
      expect(run.code, command[0]).toBe(1);
      expect(run.stdout).toBe('');
      expectOneLineError(run);
      expect(run.stderr).toContain(`no backlog at ${path}: the directory does not exist`);
    }
    expect(existsSync(join(path, '..'))).toBe(false);
  });

  it('a directory without backlog.mdb fails with exit 1 and stays empty', async () => {
    const path = join(tempDir(), 'empty');
    mkdirSync(path);
    for (const command of ['stats', 'requeue-dead']) {
      const run = await cli('backlog', path, command);
      expect(run.code).toBe(1);
      expectOneLineError(run);
      expect(run.stderr).toContain(`no backlog at ${path}: it has no backlog.mdb`);
    }
    expect(readdirSync(path)).toEqual([]);
  });

  it('a locked store: writes fail naming the holder, reads work beside it', async () => {
    const path = await fixtureStore();
    const owner = lmdbBacklog({ path });
    owner.open(hooks);
    openStores.push(owner);

    for (const command of [['requeue-dead'], ['purge', '--yes']]) {
      const run = await cli('backlog', path, ...command);
      expect(run.code, command[0]).toBe(1);
      expect(run.stdout).toBe('');
      expectOneLineError(run);
      // The owner is a store open in this very process, and the message says so.
      expect(run.stderr).toContain(
        `backlog ${path} is locked by this same process (pid ${process.pid})`,
      );
    }

    const stats = await cli('backlog', path, 'stats', '--json');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ pending: 5, deadLetters: 2 });
    expect((await cli('backlog', path, 'list')).code).toBe(0);
    expect((await cli('backlog', path, 'export', '--dead')).code).toBe(0);

    // Nothing was requeued or purged, and the owner still writes after the readers closed.
    await owner.append([record(10, 'orders')]);
    expect(owner.stats()).toMatchObject({ pending: 6, deadLetters: 2 });
    expect(JSON.parse(readFileSync(join(path, 'worker.lock'), 'utf8')).pid).toBe(process.pid);
  });
});

describe('the installed entry', () => {
  it('runs src/cli/main.ts as a program beside a live owner: output, exit codes, shebang', async () => {
    expect(readFileSync(mainTs, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const path = await fixtureStore();
    const run = (argv: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
        const child = execFile(
          process.execPath,
          ['--import', 'tsx', mainTs, ...argv],
          { cwd: repoRoot, timeout: 15_000 },
          (error, stdout, stderr) => {
            if (error?.killed) fail(new Error(`the CLI did not exit on its own: ${stderr}`));
            else done({ code: child.exitCode, stdout, stderr });
          },
        );
      });
    // A worker in this process owns the store: the spawned CLI reads beside it and is refused writes.
    const owner = lmdbBacklog({ path });
    owner.open(hooks);
    openStores.push(owner);
    const [stats, locked] = await Promise.all([
      run(['backlog', path, 'stats', '--json']),
      run(['backlog', path, 'requeue-dead']),
    ]);
    expect(stats.stderr).toBe('');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ pending: 5, deadLetters: 2 });
    expect(locked.code).toBe(1);
    expect(locked.stdout).toBe('');
    expect(locked.stderr).toMatch(
      new RegExp(
        `^xstate-sync-worker: backlog .+ is locked by the worker with pid ${process.pid} .+\\n$`,
      ),
    );
  });
});
