/**
 * One life of a durable worker in the crash loop: it opens the shared lmdb
 * store, plays one phase, and waits to be killed with SIGKILL.
 *
 *   crash-loop-child.ts <store> <remote log> <phase> <life> <first n> <rounds> <per round>
 *
 * - `enqueue`: the remote is up; tasks are enqueued in rounds, each round
 *   flushed, then `FLUSHED <last n>` is printed, while deliveries go on.
 * - `outage`: the remote is down (the handler throws), the breaker opens and
 *   probes; the tasks of the rounds are kept and flushed all the same.
 * - `replay`: the remote is up, no new work: what the store holds drains.
 * - `final`: as `replay`, then `shutdown()`, a JSON line of stats, and exit.
 *
 * The "remote" is a file that outlives every kill: the handler appends
 * `<id> <key> <n> <life>` with a synchronous append before it resolves, so a
 * line written is a delivery done. A kill between that append and the
 * worker's removal of the record delivers the task again, under the same id.
 *
 * Lines on stdout (a pipe: synchronous on Linux, so a line written before
 * the kill is read by the parent): `STARTED <phase> <pid> <backlog>`,
 * `ROUND <first n> <last n>` before a round is enqueued (these ids may exist
 * from now on), `FLUSHED <last n>` once they are durable, and `DONE` when the
 * phase's work is over (the child then idles until killed).
 */
import { appendFileSync } from 'node:fs';
import { SyncWorker } from '../../../src/index.js';
import { lmdbBacklog } from '../../../src/lmdb/index.js';
import { keyOf } from './protocol.js';

interface WritePayload {
  n: number;
}

async function main(): Promise<void> {
  const [store = '', log = '', phase = '', life = '', first = '0', rounds = '0', perRound = '0'] =
    process.argv.slice(2);
  const remoteUp = phase !== 'outage';

  const worker = new SyncWorker({
    backlog: lmdbBacklog({ path: store }),
    handlers: {
      write: async (payload: WritePayload, { id, key }) => {
        // A remote call takes at least one turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
        if (!remoteUp) throw new Error('connection refused');
        appendFileSync(log, `${id} ${key} ${payload.n} ${life}\n`);
      },
    },
    // Opens after two failures and probes often, so an outage sees open, half-open and probes.
    breaker: { failureThreshold: 2, probeIntervalMs: 15 },
    // Never to the dead letters: probes during outages count as attempts.
    retry: { maxAttempts: Number.MAX_SAFE_INTEGER, baseMs: 2, maxMs: 10 },
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`STARTED ${phase} ${process.pid} ${worker.stats().backlog}`);

  if (phase === 'final') {
    await worker.onIdle();
    await worker.shutdown();
    say(JSON.stringify(worker.stats()));
    return;
  }

  let n = Number(first);
  for (let round = 0; round < Number(rounds); round++) {
    const last = n + Number(perRound) - 1;
    say(`ROUND ${n} ${last}`);
    for (; n <= last; n++) {
      worker.enqueue({ handler: 'write', payload: { n }, key: keyOf(n), id: `t-${n}` });
    }
    await worker.flush();
    // Every id up to `last` is durable now: the parent may kill us at any moment after this line.
    say(`FLUSHED ${last}`);
  }
  // With the remote down, kept tasks count as waiting, so onIdle would wait for the next life.
  if (remoteUp) await worker.onIdle();
  say('DONE');
  setInterval(() => {}, 2 ** 30);
}

await main();
