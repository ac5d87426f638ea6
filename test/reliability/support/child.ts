import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The path of a fixture in test/reliability/fixtures. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript fixture in a fresh Node (`node [flags] --import tsx file …args`)
 * and resolves when the process exits on its own. Rejects if it is still
 * running after `limitMs`: a generous bound, not a timing assertion.
 */
export function runFixture(
  name: string,
  args: readonly string[] = [],
  options: { limitMs?: number; nodeFlags?: readonly string[] } = {},
): Promise<ChildResult> {
  return runChild(fixturePath(name), args, options);
}

/** {@link runFixture} for a TypeScript file given by its path. */
export function runChild(
  file: string,
  args: readonly string[] = [],
  { limitMs = 10_000, nodeFlags = [] as readonly string[] } = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...nodeFlags, '--import', 'tsx', file, ...args],
      { timeout: limitMs, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error?.killed) {
          reject(
            new Error(`${file} ${args.join(' ')} did not exit within ${limitMs} ms: ${stdout}`),
          );
        } else {
          resolve({ code: child.exitCode, stdout, stderr });
        }
      },
    );
  });
}

/** The last line of a fixture's output that parses as JSON. */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no JSON in the fixture's output:\n${stdout}`);
  return JSON.parse(line) as T;
}
