import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runChild } from './reliability/support/child.js';
import { tempDirs } from './support/temp-dirs.js';

const fixture = fileURLToPath(new URL('./fixtures/leave-timers-behind.ts', import.meta.url));

/** Runs the fixture in a fresh Node; resolves with its output when it exits on its own. */
function runFixture(mode: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    // The 10 s limit is a generous bound, not a timing assertion: a process kept alive
    // by a 30 s or 60 s timer would be killed here and fail the test.
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', fixture, mode],
      { timeout: 10_000 },
      (error, stdout) => {
        if (error?.killed) reject(new Error(`the process did not exit on its own: ${stdout}`));
        else resolve({ code: child.exitCode, stdout });
      },
    );
  });
}

describe('timers never keep the process alive', () => {
  it('with a task waiting for its deadline and open breakers', async () => {
    const { code, stdout } = await runFixture('leave');
    expect(code).toBe(0);
    expect(stdout).toContain('left behind: worker draining, breakers open/open');
  });

  it('with a shutdown in progress: held open until it resolves, then not', async () => {
    const { code, stdout } = await runFixture('shutdown');
    expect(code).toBe(0);
    expect(stdout).toContain('left behind: worker stopping');
    // Printed after the 500 ms deadline: the pending shutdown kept the process alive.
    expect(stdout).toContain('shutdown resolved: shutdown');
  });
});

const awaitOnly = fileURLToPath(new URL('./fixtures/await-shutdown-only.ts', import.meta.url));
const dirs = tempDirs('await-shutdown-');

describe('a script that only awaits shutdown() exits 0 once it resolves', () => {
  it.each([
    ['closure', 'a closure task'],
    ['durable', 'a durable task on an lmdb backlog'],
  ])('with %s in flight (%s)', async (mode) => {
    const { code, stdout, stderr } = await runChild(awaitOnly, [mode, dirs()]);
    // Without the hold: code 13 ("unsettled top-level await") and nothing printed.
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(lastJsonLine(stdout)).toEqual({ resolved: true, state: 'shutdown', lockLeft: false });
  });
});
