import { runCli } from '../../src/cli/backlogCommand.js';

/** The wall clock the CLI tests give the command, so ages print the same every run. */
export const CLI_NOW = Date.UTC(2026, 0, 2);

/** Runs the `backlog` command in-process with `argv`; returns its exit code and what it printed. */
export async function cli(
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (chunk: string) => void) => ({
    write(chunk: string) {
      add(chunk);
      return true;
    },
  });
  const code = await runCli(argv, {
    stdout: sink((c) => {
      stdout += c;
    }),
    stderr: sink((c) => {
      stderr += c;
    }),
    now: () => CLI_NOW,
  });
  return { code, stdout, stderr };
}
