import type { BacklogRecord } from '../../src/backlog/types.js';
import { runCli } from '../../src/cli/backlogCommand.js';
import type { SharedBacklog } from '../../src/shared/types.js';

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

/**
 * Fills a fresh shared-store `session` for the CLI tests: tasks `a` and `b`
 * of key `k1` and `c` of `k2`, all enqueued a minute before {@link CLI_NOW},
 * then `a` buried (reason `rejected`): two pending, one dead letter.
 */
export async function seedForCli(session: SharedBacklog): Promise<void> {
  const task = (id: string, key: string) => ({
    id,
    key,
    handler: 'send',
    payload: { id },
    attempts: 0,
    enqueuedAt: CLI_NOW - 60_000,
  });
  await session.append([task('a', 'k1'), task('b', 'k1'), task('c', 'k2')]);
  const claim = await session.claim({ limit: 1, leaseMs: 60_000 });
  const head = claim?.records[0] as BacklogRecord;
  await session.bury(claim?.lease as never, [{ ...head, deadAt: CLI_NOW, reason: 'rejected' }], {
    release: true,
  });
  await session.close();
}
