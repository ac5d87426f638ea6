import { RECORD_FORMAT } from '../backlog/record.js';
import type { BacklogRecord, BacklogStats, DeadLetter } from '../backlog/types.js';
import type { Parsed } from './args.js';
import { ageSince, oneLine, table } from './format.js';
import { type CliIo, plural, write, writeLines } from './output.js';

/** What the commands read and change: an LMDB store, or a shared store's session. */
export interface CliStore {
  readonly location: string;
  stats(): BacklogStats | Promise<BacklogStats>;
  list(options?: { key?: string; limit?: number }): BacklogRecord[] | Promise<BacklogRecord[]>;
  deadLetters(): DeadLetter[] | Promise<DeadLetter[]>;
  /** Moves every dead letter back to the end of its key; resolves with how many. */
  requeueDead(): Promise<number>;
  /** Deletes every pending task and dead letter; resolves with how many records. */
  purge(): Promise<number>;
}

/** What every command gets. */
export interface Context {
  args: Parsed;
  store: CliStore;
  io: CliIo;
  now: number;
}

/** `stats`: counts per key, the oldest task's age, dead letters. */
export async function stats({ args, store, io, now }: Context): Promise<void> {
  const s = await store.stats();
  const keys = Object.keys(s.byKey).sort();
  const oldestAgeMs =
    s.oldestEnqueuedAt === undefined ? null : Math.max(0, now - s.oldestEnqueuedAt);
  if (args.json) {
    const byKey: Record<string, number> = {};
    for (const key of keys) byKey[key] = s.byKey[key] ?? 0;
    const report = {
      location: store.location,
      pending: s.pending,
      byKey,
      oldestEnqueuedAt: s.oldestEnqueuedAt ?? null,
      oldestAgeMs,
      deadLetters: s.deadLetters,
    };
    await write(io.stdout, `${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines = [
    `backlog ${store.location}`,
    `pending: ${s.pending}${keys.length > 0 ? ` in ${plural(keys.length, 'key')}` : ''}`,
    ...table(keys.map((key) => [`  ${oneLine(key)}`, String(s.byKey[key] ?? 0)])),
    s.oldestEnqueuedAt === undefined
      ? 'oldest pending: none'
      : `oldest pending: ${ageSince(s.oldestEnqueuedAt, now)} (enqueued ${new Date(s.oldestEnqueuedAt).toISOString()})`,
    `dead letters: ${s.deadLetters}`,
  ];
  await writeLines(io.stdout, lines);
}

/** `list`: pending tasks, oldest first, up to `--limit`; a table, or JSON with `--json`. */
export async function list(context: Context): Promise<void> {
  const { args, store } = context;
  // One more than asked, to tell whether the list was cut.
  const records = await store.list({ key: args.key, limit: args.limit + 1 });
  const shown = records.slice(0, args.limit);
  const more = records.length > args.limit;
  if (args.json) await listJson(context, shown, more);
  else await listTable(context, shown, more);
}

async function listTable(
  { args, io, now }: Context,
  shown: readonly BacklogRecord[],
  more: boolean,
): Promise<void> {
  if (shown.length === 0) {
    const scope = args.key === undefined ? '' : ` for key ${JSON.stringify(args.key)}`;
    await write(io.stdout, `no pending tasks${scope}\n`);
    return;
  }
  const rows = [
    ['SEQ', 'KEY', 'ID', 'HANDLER', 'ATTEMPTS', 'AGE', 'LAST ERROR'],
    ...shown.map((r) => [
      String(r.seq),
      oneLine(r.key),
      oneLine(r.id),
      oneLine(r.handler),
      String(r.attempts),
      ageSince(r.enqueuedAt, now),
      r.lastError === undefined ? '-' : oneLine(r.lastError),
    ]),
  ];
  await writeLines(io.stdout, table(rows));
  if (more) {
    await write(
      io.stderr,
      `showing the oldest ${plural(args.limit, 'task')}; more are pending (raise --limit)\n`,
    );
  }
}

/** The table's columns as one JSON document; payloads stay out, as in the table (`export` has them). */
async function listJson(
  { store, io, now }: Context,
  shown: readonly BacklogRecord[],
  more: boolean,
): Promise<void> {
  const tasks = shown.map((r) => ({
    seq: r.seq,
    key: r.key,
    id: r.id,
    handler: r.handler,
    attempts: r.attempts,
    enqueuedAt: r.enqueuedAt,
    ageMs: Math.max(0, now - r.enqueuedAt),
    lastError: r.lastError ?? null,
  }));
  await write(io.stdout, `${JSON.stringify({ location: store.location, tasks, more }, null, 2)}\n`);
}

/** `export`: every record as one JSON line each. */
export async function exportRecords({ args, store, io }: Context): Promise<void> {
  const records = args.dead ? await store.deadLetters() : await store.list();
  // The stored format (see encodeRecord), with `seq` kept in the line since no store key holds it.
  await writeLines(
    io.stdout,
    records.map((record) => JSON.stringify({ v: RECORD_FORMAT, ...record })),
  );
}

/** `requeue-dead`: every dead letter back to the end of its key. */
export async function requeueDead({ store, io }: Context): Promise<void> {
  const revived = await store.requeueDead();
  await write(
    io.stdout,
    revived === 0
      ? `no dead letters in ${store.location}\n`
      : `requeued ${plural(revived, 'dead letter')} in ${store.location}\n`,
  );
}

/** `purge --yes`: deletes every pending task and dead letter. */
export async function purge(context: Context): Promise<void> {
  const { store, io } = context;
  const { pending, deadLetters: dead } = await store.stats();
  const removed = await store.purge();
  await write(
    io.stdout,
    `purged ${plural(removed, 'record')} (${plural(pending, 'pending task')}, ${plural(dead, 'dead letter')}) from ${store.location}\n`,
  );
}

/** Runs the command `context.args` names. */
export async function runCommand(context: Context): Promise<void> {
  switch (context.args.command) {
    case 'stats':
      return stats(context);
    case 'list':
      return list(context);
    case 'export':
      return exportRecords(context);
    case 'requeue-dead':
      return requeueDead(context);
    case 'purge':
      return purge(context);
  }
}
