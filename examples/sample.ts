/**
 * `npm start`: a 10-second sample of the worker in front of a remote that is
 * healthy, then slow, then down, then healthy again. It prints each state
 * change of the worker's actors and a status line every second.
 *
 *   npm start                 the 10 s run
 *   npm start -- --fast       the same story in 2 s
 *   npm start -- --inspect    also serve the Stately inspector (its UI page needs the network)
 */
import { parseArgs } from 'node:util';
import { type Inspect, SyncWorker, type TaskContext } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    fast: { type: 'boolean', default: false },
    inspect: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm start [-- --fast] [-- --inspect]');
  process.exit(0);
}

/** Time is scaled so that --fast tells the same story five times faster. */
const scale = args.fast ? 0.2 : 1;
const ms = (n: number) => Math.round(n * scale);

type Phase = 'healthy' | 'slow' | 'down' | 'recovered';
const phases: [Phase, number][] = [
  ['healthy', ms(2_500)],
  ['slow', ms(4_500)],
  ['down', ms(7_000)],
  ['recovered', ms(10_000)],
];

const startedAt = performance.now();
const elapsed = () => performance.now() - startedAt;
const stamp = () => `${(elapsed() / 1000).toFixed(2).padStart(5)}s`;
const say = (line: string) => console.log(`${stamp()}  ${line}`);

function phaseNow(): Phase {
  return (
    (phases.find(([, end]) => elapsed() < end) ?? phases[phases.length - 1])?.[0] ?? 'recovered'
  );
}

// A small seeded PRNG (mulberry32) so every run shows the same jitter.
let seed = 42;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** The simulated remote write: its latency and failures follow the current phase. */
function remoteWrite({ signal }: TaskContext): Promise<void> {
  const phase = phaseNow();
  const latency =
    { healthy: 15, slow: 120, down: 5, recovered: 15 }[phase] * (0.6 + random() * 0.8);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (phase === 'down') reject(new Error('connect ECONNREFUSED'));
      else resolve();
    }, ms(latency));
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

async function inspector(): Promise<{ inspect: Inspect; stop(): void } | undefined> {
  if (!args.inspect) return undefined;
  const { createInspectorServer } = await import('@statelyai/inspect/server');
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const server = createInspectorServer({ port: 8080, autoOpen: false });
  const client = createWebSocketInspector({ url: 'ws://localhost:8080' });
  say('inspector: open http://localhost:8080 (its UI page loads from stately.ai)');
  return {
    inspect: client.inspect,
    stop: () => {
      client.stop();
      server.stop();
    },
  };
}

const inspection = await inspector();
const worker = new SyncWorker({
  name: 'sample-worker',
  maxQueue: 32,
  breaker: { failureThreshold: 3, probeIntervalMs: ms(1_000) },
  latencyTracker: { floorMs: ms(50), warmupSamples: 5, window: 20 },
  inspect: inspection?.inspect,
});

let delivered = 0;
let failed = 0;
let heldBack = 0;
let dropped = 0;
// idle ⇄ draining flips with every burst of writes; print the rarer lifecycle changes only.
const quiet = new Set(['idle', 'draining']);
worker.on('stateChange', ({ from, to }) => {
  if (!quiet.has(from) || !quiet.has(to)) say(`worker:  ${from} → ${to}`);
});
worker.on('breakerStateChange', ({ from, to }) => say(`breaker: ${from} → ${to}`));
worker.latencyTracker?.actor.subscribe((snapshot) =>
  say(`tracker: ${JSON.stringify(snapshot.value)}`),
);
worker.on('taskTimedOut', ({ timeoutMs }) =>
  say(`task timed out after ${timeoutMs.toFixed(0)} ms`),
);

let lastPhase: Phase | undefined;
function status() {
  const s = worker.stats();
  const p95 = worker.latencyTracker?.p95;
  say(
    `status:  remote ${phaseNow().padEnd(9)} breaker ${s.breakerState.padEnd(9)} queued ${String(s.queued).padStart(2)}  ` +
      `delivered ${delivered}  failed ${failed}  held back ${heldBack}  dropped ${dropped}  ` +
      `timeout ${s.timeoutMs.toFixed(0)} ms  p95 ${p95 === undefined ? '-' : `${p95.toFixed(0)} ms`}`,
  );
}

say('the remote is healthy; a producer writes every 40 ms, and enqueue never waits for the remote');
let produced = 0;
const producer = setInterval(() => {
  produced++;
  const phase = phaseNow();
  if (phase !== lastPhase) {
    lastPhase = phase;
    say(`--- the remote is now ${phase} ---`);
  }
  worker.enqueue({
    name: 'memory.addMessage',
    run: remoteWrite,
    onSuccess: () => delivered++,
    onFailure: (error) => {
      if (error.name === 'BreakerOpenError') heldBack++;
      else if (error.name === 'QueueOverflowError') dropped++;
      else failed++;
    },
  });
}, ms(40));
const ticker = setInterval(status, ms(1_000));

await new Promise((resolve) => setTimeout(resolve, ms(10_000)));
clearInterval(producer);
clearInterval(ticker);
await worker.shutdown({ timeoutMs: ms(2_000) });
status();
inspection?.stop();

const s = worker.stats();
say(
  `done: ${s.completed} delivered; ${failed} failed at the remote (${s.timedOut} timed out); ` +
    `${heldBack} held back by the open breaker (${s.refused} refused at enqueue, the rest failed fast); ${s.dropped} dropped on overflow`,
);
const fates = delivered + failed + heldBack + dropped;
if (fates !== produced) {
  say(`BUG: ${produced} writes but ${fates} fates`);
  process.exitCode = 1;
} else {
  say(`all ${produced} writes had exactly one fate, and enqueue never waited for the remote.`);
}
say(
  'writes held back during the outage reached onFailure: keeping them is the durable backlog’s job.',
);
