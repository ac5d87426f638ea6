/**
 * A property test of workers on one shared store (memorySharedBacklog):
 * random fleets (1 to 3 workers, `concurrency` 1 to 3, a batch handler or
 * not), random tasks over a few keys from one producer, and a remote that
 * fails some calls (retryable, or refusing a task for good). At the end every
 * task was delivered exactly once or went to the dead letters once; per key,
 * deliveries follow enqueue order; and no two runs of one key were ever in
 * flight at once anywhere in the fleet.
 *
 * Fixed seed and 100 runs (each runs real workers for a moment), and a tenth
 * of them on PostgreSQL and on Redis when `XSW_POSTGRES_URL` and
 * `XSW_REDIS_URL` are set (under `CI`, a missing server fails);
 * `FC_RUNS` and `FC_SEED` search further.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DurableTask,
  NonRetryableError,
  SyncWorker,
  type SyncWorkerOptions,
} from '../../src/index.js';
import { postgresBacklog } from '../../src/postgres/index.js';
import { redisBacklog } from '../../src/redis/index.js';
import { memorySharedBacklog } from '../../src/shared/memorySharedBacklog.js';
import type { SharedBacklogStore } from '../../src/shared/types.js';
import { dropSchema, freshSchema, postgresUrl, skipPostgres } from '../support/postgres.js';
import { redisPrefixes } from '../support/redis.js';
import { requireServerUrl, serverPlan } from '../support/servers.js';

const RUNS = Number(process.env.FC_RUNS ?? 100);
const SEED = Number(process.env.FC_SEED ?? 20_261_203);
/** Each run on a server makes a schema or a key prefix, and a connection: fewer runs. */
const SERVER_RUNS = Math.max(1, Math.floor(RUNS / 10));
const redisPlan = serverPlan(['redis']);
if (!redisPlan.run && !redisPlan.fail) {
  console.info(`skipping the fleet property on Redis: ${redisPlan.reason}`);
}

interface Task {
  key: string;
  /** What the remote does with it: fail this many times first, or refuse it for good. */
  failures: number;
  poison: boolean;
}

const fleet = fc.record({
  workers: fc.integer({ min: 1, max: 3 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  batch: fc.boolean(),
  tasks: fc.array(
    fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd'),
      failures: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 2 })),
      poison: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    }),
    { minLength: 1, maxLength: 40 },
  ),
});

async function runFleet(
  params: {
    workers: number;
    concurrency: number;
    batch: boolean;
    tasks: Task[];
  },
  store: SharedBacklogStore,
) {
  const tasks = params.tasks;
  const failuresLeft = new Map<string, number>();
  const delivered: string[] = [];
  const dead: string[] = [];
  const inFlight = new Set<string>();
  const violations: string[] = [];
  const total = tasks.length;
  let settled = 0;
  let allSettled!: () => void;
  const done = new Promise<void>((resolve) => {
    allSettled = resolve;
  });
  const settle = () => {
    if (++settled === total) allSettled();
  };
  const call = async (ids: readonly string[], key: string) => {
    if (inFlight.has(key)) violations.push(`two runs of key ${key} at once`);
    inFlight.add(key);
    await Promise.resolve();
    inFlight.delete(key);
    for (const id of ids) {
      const task = tasks[Number(id.slice(1))] as Task;
      if (task.poison) throw new NonRetryableError(`refused ${id}`);
      const left = failuresLeft.get(id) ?? task.failures;
      if (left > 0) {
        failuresLeft.set(id, left - 1);
        throw new Error(`hiccup on ${id}`);
      }
    }
    for (const id of ids) {
      delivered.push(id);
      settle();
    }
  };
  const options = (name: string): SyncWorkerOptions => ({
    name,
    backlog: store,
    concurrency: params.concurrency,
    leaseMs: 60_000,
    breaker: false,
    retry: { baseMs: 1, maxMs: 4, maxAttempts: 10 },
    onDeadLetter: (task: DurableTask) => {
      dead.push(task.id);
      settle();
    },
    handlers: params.batch
      ? {
          send: {
            batch: { maxSize: 3 },
            run: (_payloads: unknown[], c: { ids: readonly string[]; key: string }) =>
              call(c.ids, c.key),
          },
        }
      : { send: (_payload: unknown, c: { id: string; key: string }) => call([c.id], c.key) },
  });
  const workers = Array.from(
    { length: params.workers },
    (_, i) => new SyncWorker(options(`w${i}`)),
  );
  const producer = workers[0] as SyncWorker;
  for (const [i, task] of tasks.entries()) {
    producer.enqueue({ handler: 'send', key: task.key, id: `t${i}`, payload: null });
  }
  await producer.flush();
  await done;
  await Promise.all(workers.map((w) => w.shutdown({ timeoutMs: 100 })));
  return { delivered, dead, violations };
}

/** The property, on the store each run gets from `storeFor`. */
function fleetProperty(storeFor: () => Promise<SharedBacklogStore>) {
  return fc.asyncProperty(fleet, async (params) => {
    const tasks = params.tasks as Task[];
    const { delivered, dead, violations } = await runFleet(params, await storeFor());
    expect(violations).toEqual([]);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect([...delivered, ...dead].sort()).toEqual(tasks.map((_, i) => `t${i}`).sort());
    for (const key of ['a', 'b', 'c', 'd']) {
      const expected = tasks
        .map((t, i) => ({ t, id: `t${i}` }))
        .filter(({ t, id }) => t.key === key && !dead.includes(id))
        .map(({ id }) => id);
      expect(delivered.filter((id) => tasks[Number(id.slice(1))]?.key === key)).toEqual(expected);
    }
  });
}

describe('workers on a shared store against the promises of a fleet (fc)', () => {
  it(`deliver each task once or bury it once, per key in order, one run per key (${RUNS} runs, seed ${SEED})`, async () => {
    await fc.assert(
      fleetProperty(async () => memorySharedBacklog()),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);
});

describe.skipIf(skipPostgres)('fleets on PostgreSQL against the same promises (fc)', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

  it(`keep them too (${SERVER_RUNS} runs, seed ${SEED})`, async () => {
    const storeFor = async () => {
      const schema = freshSchema();
      schemas.push(schema);
      return postgresBacklog({ connectionString: postgresUrl(), schema });
    };
    await fc.assert(fleetProperty(storeFor), { seed: SEED, numRuns: SERVER_RUNS });
  }, 120_000);
});

describe.skipIf(!redisPlan.run && !redisPlan.fail)(
  'fleets on Redis against the same promises (fc)',
  () => {
    const prefixes = redisPrefixes('fleet-fc');
    afterAll(() => prefixes.drop());

    it(`keep them too (${SERVER_RUNS} runs, seed ${SEED})`, async () => {
      const storeFor = async () =>
        redisBacklog({ url: requireServerUrl('redis'), prefix: prefixes.next() });
      await fc.assert(fleetProperty(storeFor), { seed: SEED, numRuns: SERVER_RUNS });
    }, 120_000);
  },
);
