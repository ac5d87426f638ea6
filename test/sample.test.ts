import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm start (the sample)', () => {
  it('tells the outage story in --fast mode and accounts for every write', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'examples/sample.ts', '--fast'],
        { cwd: root, timeout: 30_000 },
        (error, out) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out }),
      );
    });
    expect(code, stdout).toBe(0);
    expect(stdout).toContain('breaker: closed → open');
    expect(stdout).toContain('breaker: half_open → closed');
    expect(stdout).toMatch(/all \d+ writes had exactly one fate/);
  });
});
