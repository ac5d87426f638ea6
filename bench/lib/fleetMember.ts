/**
 * One worker process of the fleet bench (case 13): our worker on a shared
 * store, or a plain BullMQ worker, at concurrency 1. It waits for `go`, then
 * runs tasks until `stop`. Every handler call appends `S key pos` when it
 * starts and `E key pos` when it ends to one file shared by the fleet (one
 * O_APPEND write each, so the file's order is real time across processes),
 * from which the case counts per-key order violations; it tells the parent
 * of each end over IPC, which is how the parent knows the run is done.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { SyncWorker } from '../../src/index.js';
import { postgresBacklog } from '../../src/postgres/index.js';
import { redisBacklog } from '../../src/redis/index.js';

/** What the case passes a member. */
export interface FleetMemberSettings {
  kind: 'redis' | 'postgres' | 'bullmq';
  url: string;
  /** The Redis key prefix, PostgreSQL schema, or BullMQ queue name of this run. */
  location: string;
  /** The file every member of the run appends its starts and ends to. */
  log: string;
  /** The remote's latency per call: 0 for an instant handler. */
  remoteMs: number;
}

/** A task's payload: its key and place in that key (0, 1, 2, …). */
export interface FleetTask {
  k: string;
  pos: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as FleetMemberSettings;
const fd = openSync(settings.log, 'a');

async function handle(task: FleetTask): Promise<void> {
  writeSync(fd, `S ${task.k} ${task.pos}\n`);
  if (settings.remoteMs > 0) await delay(settings.remoteMs);
  writeSync(fd, `E ${task.k} ${task.pos}\n`);
  process.send?.('e');
}

async function start(): Promise<() => Promise<void>> {
  if (settings.kind === 'bullmq') {
    const url = new URL(settings.url);
    const worker = new Worker(settings.location, (job) => handle(job.data as FleetTask), {
      connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
      concurrency: 1,
    });
    return () => worker.close();
  }
  const backlog =
    settings.kind === 'redis'
      ? redisBacklog({ url: settings.url, prefix: settings.location })
      : postgresBacklog({ connectionString: settings.url, schema: settings.location });
  const worker = new SyncWorker({
    backlog,
    concurrency: 1,
    handlers: { run: (task: FleetTask) => handle(task) },
  });
  return () => worker.shutdown({ timeoutMs: 5_000 });
}

let stop: (() => Promise<void>) | undefined;
process.on('message', (message) => {
  if (message === 'go') {
    void start().then((stopper) => {
      stop = stopper;
    });
  }
  if (message === 'stop') {
    void (stop ?? (() => Promise.resolve()))().then(() => {
      closeSync(fd);
      process.disconnect?.();
    });
  }
});
process.send?.('ready');
