/** The command's name in messages. */
export const PROGRAM = 'xstate-sync-worker';
/** How many records `list` shows without `--limit`. */
export const DEFAULT_LIMIT = 50;

/** The usage text `--help` prints (and, on stderr, a call without arguments). */
export const USAGE = `Usage: ${PROGRAM} backlog <path> <command> [options]
       ${PROGRAM} --help | --version

Inspects and repairs the durable backlog kept by lmdbBacklog({ path }), or a
fleet's shared backlog given by URL: ${PROGRAM} backlog postgres://user@host/db stats

Commands:
  stats          pending tasks per key, the oldest task's age, dead letters
  list           pending tasks, oldest first
  export         every pending task as JSON lines (one record a line)
  requeue-dead   moves every dead letter back to pending, with fresh attempts
  purge --yes    deletes every pending task and dead letter

Options:
  --json         stats, list: print JSON
  --key <key>    list: only the tasks of this key
  --limit <n>    list: at most n tasks (default ${DEFAULT_LIMIT})
  --dead         export: the dead letters instead of the pending tasks
  --yes          purge: confirms the deletion
  -h, --help     prints this help
  --version      prints the version

stats, list and export only read, without the lock: they work beside a running
worker. requeue-dead and purge take the store's lock: stop its worker first.
A shared store (postgres://…, ?schema=name if not the default; redis://…,
?prefix=name if not the default) has no lock: every command works beside its fleet.

Exit codes: 0 done, 1 failed (message on stderr), 2 bad usage.
`;
