// One drain of N no-op tasks through the built package (dist/), in chunks of `maxQueue`, for
// counting instructions under valgrind: `drain-parts.sh` runs it at two sizes per variant, so
// the difference divided by the extra tasks is the cost per task, start-up cancelled out.
//
//   node bench/parts/drain-workload.mjs <variant> <tasks>
//
// Variants take one part away each, through public options only:
//   full        the bench's drain case: defaults, async no-op, chunks of 64
//   counter     a clock that counts instead of reading performance.now()
//   nobreaker   breaker: false
//   notracker   latencyTracker: false
//   sync        the task returns undefined instead of a promise
//   bare        no worker: `for (…) await f()`, the physical limit
//   pqueue      p-queue at concurrency 1, chunks of 64, onIdle() per chunk
import PQueue from 'p-queue';
import { SyncWorker } from '../../dist/src/index.js';

const [variant = 'full', size = '131072'] = process.argv.slice(2);
const tasks = Number(size);
const CHUNK = 64;
// The worker's timers are unref'd: this keeps the process alive while the drain awaits.
const keepAlive = setInterval(() => {}, 1 << 30);
let ran = 0;
const job = async () => {
  ran++;
};

/** A clock whose reads cost a closure call: time moves 1 µs per read, timers are real. */
function counterClock() {
  let t = 0;
  return {
    now: () => (t += 0.001),
    setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimeout: (id) => clearTimeout(id),
  };
}

async function drain(options, task) {
  const worker = new SyncWorker({ maxQueue: CHUNK, ...options });
  for (let done = 0; done < tasks; done += CHUNK) {
    for (let k = 0; k < CHUNK; k++) worker.enqueue(task);
    await worker.onIdle();
  }
  await worker.shutdown();
}

const asyncTask = { run: job };
if (variant === 'bare') {
  for (let i = 0; i < tasks; i++) await job();
} else if (variant === 'pqueue') {
  const queue = new PQueue({ concurrency: 1 });
  for (let done = 0; done < tasks; done += CHUNK) {
    for (let k = 0; k < CHUNK; k++) void queue.add(job);
    await queue.onIdle();
  }
} else if (variant === 'full') await drain({}, asyncTask);
else if (variant === 'counter') await drain({ clock: counterClock() }, asyncTask);
else if (variant === 'nobreaker') await drain({ breaker: false }, asyncTask);
else if (variant === 'notracker') await drain({ latencyTracker: false }, asyncTask);
else if (variant === 'sync') await drain({}, { run: () => void ran++ });
else throw new Error(`unknown variant ${variant}`);
clearInterval(keepAlive);
if (ran !== tasks) throw new Error(`${ran} of ${tasks} tasks ran`);
