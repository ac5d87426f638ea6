/**
 * One life of a durable worker in the crash loop: it opens the shared lmdb
 * store, plays one phase, and waits to be killed with SIGKILL.
 *
 *   crash-loop-child.ts <store> <remote log> <phase> <life> <first n> <rounds> <per round> <concurrency> <batch>
 *
 * - `enqueue`: the remote is up; tasks are enqueued in rounds, each round
 *   flushed, then `FLUSHED <last n>` is printed, while deliveries go on.
 * - `outage`: the remote is down (the handler throws), the breaker opens and
 *   probes; the tasks of the rounds are kept and flushed all the same.
 * - `replay`: the remote is up, no new work: what the store holds drains.
 * - `final`: as `enqueue`, then, once idle, `shutdown()`, a JSON line of
 *   stats, and exit.
 *
 * The worker runs `concurrency` tasks at once (at most one per key), and its
 * handler `write` takes one task a call, or with `batch` > 0 is a batch
 * handler of that `maxSize`.
 *
 * The "remote" is a file that outlives every kill: the handler appends
 * `<id> <key> <n> <life>` for each task of the call with one synchronous
 * append before it resolves, so a line written is a delivery done. A kill
 * between that append and the worker's removal of the records delivers them
 * again, under the same ids. A run whose signal was aborted (timed out)
 * writes nothing.
 *
 * The handler also tracks its runs in flight, per key and in all (from its
 * call until it returns or its signal is aborted), and reports a run of a key
 * beside another of that key, or beyond `concurrency`, at once (see
 * `IN_FLIGHT_LINES` in ./protocol.ts).
 *
 * Lines on stdout (a pipe: synchronous on Linux, so a line written before
 * the kill is read by the parent): `STARTED <phase> <pid> <backlog>`,
 * `ROUND <first n> <last n>` before a round is enqueued (these ids may exist
 * from now on), `FLUSHED <last n>` once they are durable, `DONE` when the
 * phase's work is over (the child then idles until killed), and the
 * in-flight lines.
 */
import { appendFileSync } from 'node:fs';
import { type DurableBatchContext, SyncWorker } from '../../../src/index.js';
import { lmdbBacklog } from '../../../src/lmdb/index.js';
import { keyOf } from './protocol.js';

interface WritePayload {
  n: number;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The handler's view of its runs in flight. */
function inFlightTracker(concurrency: number) {
  const byKey = new Map<string, number>();
  let count = 0;
  let peak = 0;
  /** A run of `key` (its first task n) begins; returns what ends it, once. */
  return (key: string, n: number, signal: AbortSignal): (() => void) => {
    if (byKey.has(key)) say(`OVERLAP ${key} ${n}`);
    byKey.set(key, n);
    count++;
    if (count > concurrency) say(`OVER ${count}`);
    if (count > peak) {
      peak = count;
      say(`PEAK ${peak}`);
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (byKey.get(key) === n) byKey.delete(key);
      count--;
    };
    signal.addEventListener('abort', end, { once: true });
    return end;
  };
}

async function main(): Promise<void> {
  const [
    store = '',
    log = '',
    phase = '',
    life = '',
    first = '0',
    rounds = '0',
    perRound = '0',
    concurrencyArg = '1',
    batchArg = '0',
  ] = process.argv.slice(2);
  const remoteUp = phase !== 'outage';
  const concurrency = Number(concurrencyArg);
  const batch = Number(batchArg);
  const begin = inFlightTracker(concurrency);

  /** One call of the remote: it writes a line per task, or fails while the remote is down. */
  const deliver = async (
    payloads: readonly WritePayload[],
    ids: readonly string[],
    key: string,
    signal: AbortSignal,
  ) => {
    const end = begin(key, (payloads[0] as WritePayload).n, signal);
    try {
      // A remote call takes at least one turn of the event loop; with concurrency > 1, a
      // timer's turn (about 1 ms), so commits and retry timers land while runs are in flight.
      await new Promise((resolve) =>
        concurrency > 1 ? setTimeout(resolve, 1) : setImmediate(resolve),
      );
      if (!remoteUp) throw new Error('connection refused');
      if (signal.aborted) throw signal.reason;
      const lines = payloads.map((p, i) => `${ids[i]} ${key} ${p.n} ${life}\n`);
      appendFileSync(log, lines.join(''));
    } finally {
      end();
    }
  };

  const worker = new SyncWorker({
    backlog: lmdbBacklog({ path: store }),
    concurrency,
    handlers: {
      write:
        batch > 0
          ? {
              batch: { maxSize: batch },
              run: (payloads: WritePayload[], { ids, key, signal }: DurableBatchContext) =>
                deliver(payloads, ids, key, signal),
            }
          : (payload: WritePayload, { id, key, signal }) => deliver([payload], [id], key, signal),
    },
    // Opens after two failures and probes often, so an outage sees open, half-open and probes.
    breaker: { failureThreshold: 2, probeIntervalMs: 15 },
    // Never to the dead letters: probes during outages count as attempts.
    retry: { maxAttempts: Number.MAX_SAFE_INTEGER, baseMs: 2, maxMs: 10 },
  });
  say(`STARTED ${phase} ${process.pid} ${worker.stats().backlog}`);

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

  if (phase === 'final') {
    await worker.onIdle();
    await worker.shutdown();
    say(JSON.stringify(worker.stats()));
    return;
  }
  // With the remote down, kept tasks count as waiting, so onIdle would wait for the next life.
  if (remoteUp) await worker.onIdle();
  say('DONE');
  setInterval(() => {}, 2 ** 30);
}

await main();
