// The durable-writes case (bench case 6) as plain JavaScript, for a CPU profile: rounds of
// 10,000 durable enqueues over 20 keys into an lmdbBacklog, breaker held open, then flush().
// Usage: node durable-workload.mjs BUILD_ROOT [ROUNDS], where BUILD_ROOT holds dist/ (npm run build).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const rounds = Number(process.argv[3] ?? 60);
const { CircuitBreaker, SyncWorker } = await import(join(root, 'dist/src/index.js'));
const { lmdbBacklog } = await import(join(root, 'dist/src/lmdb/index.js'));

const PER_ROUND = 10_000;
const KEYS = 20;
const payload = {
  role: 'user',
  text: 'a chat message of a typical length, about eighty characters long.',
};
const breaker = new CircuitBreaker({ failureThreshold: 1, probeIntervalMs: 3_600_000 });
breaker.recordFailure();
const dir = mkdtempSync(join(tmpdir(), 'xsw-parts-'));
const worker = new SyncWorker({
  backlog: lmdbBacklog({ path: dir }),
  handlers: { write: () => {} },
  breaker,
  maxQueue: 1024,
});
let n = 0;
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < PER_ROUND; i++, n++) {
    worker.enqueue({ handler: 'write', payload, key: `s${n % KEYS}` });
  }
  await worker.flush();
}
await worker.shutdown();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ records: n }));
