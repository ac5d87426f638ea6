#!/usr/bin/env node
/**
 * The `xstate-sync-worker` command: `xstate-sync-worker backlog <path> <command>`.
 * The work is in {@link runCli}; this entry only wires it to the process and
 * sets `process.exitCode`, so pending output is written before Node exits.
 */
import { runCli } from './backlogCommand.js';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // runCli reports its own failures; this is a last resort, still without a stack.
    process.stderr.write(
      `xstate-sync-worker: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
