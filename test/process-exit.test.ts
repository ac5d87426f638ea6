import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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

  it('with a shutdown whose deadline is far away', async () => {
    const { code, stdout } = await runFixture('shutdown');
    expect(code).toBe(0);
    expect(stdout).toContain('left behind: worker stopping');
  });
});
