import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('visualizations', () => {
  it('the committed diagrams match the machine definitions', async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'visualizations/generate.ts', '--check'],
        { cwd: root },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(result.output, 'run `npm run visualize` and commit the result').not.toMatch(
      /differs|missing/,
    );
    expect(result.code).toBe(0);
  });
});
