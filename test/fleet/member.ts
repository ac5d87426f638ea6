/**
 * One member of a fleet test, run as its own process (`node --import tsx
 * member.ts <json settings>`): a worker, a producer through a producer-only
 * SyncWorker, or a producer that appends through a store session (so it logs
 * the store's seq of each task). It writes the history log and talks to the
 * test over IPC: `ready`, `delivered`, `hold` (a marked task asks whether to
 * go on), `flushed`; the test answers `go` and `stop`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { BacklogRecord } from '../../src/backlog/types.js';
import { BacklogUnavailableError, SyncWorker } from '../../src/index.js';
import { postgresBacklog } from '../../src/postgres/index.js';
import { redisBacklog } from '../../src/redis/index.js';
import type { NewRecord, SharedBacklog, SharedBacklogStore } from '../../src/shared/types.js';
import { logEvent } from './history.js';

/** What the test passes a member. */
export interface MemberSettings {
  role: 'worker' | 'producer' | 'session-producer';
  name: string;
  store:
    | { kind: 'redis'; url: string; prefix: string }
    | { kind: 'postgres'; url: string; schema: string };
  log: string;
  /** Producers: how many tasks, over how many keys. */
  tasks?: number;
  keys?: number;
  /** Workers: the lease, and how long each handler call takes (a remote). */
  leaseMs?: number;
  remoteMs?: number;
}

/** A task's payload: its producer and number; `hold` marks one the test acts on mid-handler. */
export interface FleetPayload {
  producer: string;
  n: number;
  hold?: boolean;
}

/** Messages a member sends the test. */
export type MemberMessage =
  | { type: 'ready' }
  | { type: 'delivered'; id: string }
  | { type: 'hold'; id: string }
  | { type: 'flushed' };

function storeOf(settings: MemberSettings): SharedBacklogStore {
  const { store } = settings;
  return store.kind === 'redis'
    ? redisBacklog({ url: store.url, prefix: store.prefix })
    : postgresBacklog({ connectionString: store.url, schema: store.schema });
}

const send = (message: MemberMessage): void => {
  process.send?.(message);
};

/** The test's answer to a `hold`: resolves on its `go`. */
function answer(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as { type?: string }).type !== 'go') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
}

async function runWorker(settings: MemberSettings): Promise<void> {
  const worker = new SyncWorker({
    name: settings.name,
    backlog: storeOf(settings),
    concurrency: 2,
    leaseMs: settings.leaseMs ?? 1_000,
    handlers: {
      send: async (payload: FleetPayload, context) => {
        logEvent(settings.log, {
          type: 'deliver',
          worker: settings.name,
          key: context.key,
          id: context.id,
          producer: payload.producer,
          n: payload.n,
        });
        send({ type: 'delivered', id: context.id });
        if (payload.hold) {
          const go = answer();
          send({ type: 'hold', id: context.id });
          await go;
        }
        // The remote: a call that takes time (a timer, as a network round trip would).
        if (settings.remoteMs) await delay(settings.remoteMs);
      },
    },
  });
  await new Promise<void>((resolve) =>
    process.on('message', (message) => {
      if ((message as { type?: string }).type === 'stop') resolve();
    }),
  ).then(() => worker.shutdown({ timeoutMs: 5_000 }));
}

function* plan(settings: MemberSettings): Generator<{ n: number; key: string; id: string }> {
  const keys = settings.keys ?? 10;
  for (let n = 0; n < (settings.tasks ?? 100); n++) {
    yield { n, key: `k${n % keys}`, id: `${settings.name}-${n}` };
  }
}

/** A producer-only SyncWorker: enqueue, then flush; the store's seqs stay unknown to it. */
async function runProducer(settings: MemberSettings, holds: Set<number>): Promise<void> {
  const worker = new SyncWorker({
    name: settings.name,
    backlog: storeOf(settings),
    producerOnly: true,
    // It runs none, but enqueue checks each task's handler name against these.
    handlers: { send: () => undefined },
  });
  const ids: string[] = [];
  for (const { n, key, id } of plan(settings)) {
    const payload: FleetPayload = {
      producer: settings.name,
      n,
      ...(holds.has(n) ? { hold: true } : {}),
    };
    if (!worker.enqueue({ handler: 'send', key, id, payload })) throw new Error(`${id} refused`);
    logEvent(settings.log, { type: 'enqueue', producer: settings.name, n, key, id });
    ids.push(id);
    // Within maxQueue: let the group commits go out as a busy API would.
    if (n % 32 === 31) await worker.flush();
  }
  await worker.flush();
  logEvent(settings.log, { type: 'flushed', producer: settings.name, ids });
  await worker.shutdown();
}

/**
 * Appends one record, again and again while the server is unreachable (a
 * restart): what an app calling the session itself would do.
 */
async function appendRetrying(
  session: SharedBacklog,
  record: NewRecord,
): Promise<BacklogRecord | undefined> {
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      return (await session.append([record]))[0];
    } catch (error) {
      if (!(error instanceof BacklogUnavailableError)) throw error;
      await delay(wait);
    }
  }
}

/** A producer through a store session: it learns each task's seq. */
async function runSessionProducer(settings: MemberSettings): Promise<void> {
  const session = await storeOf(settings).open({ role: 'producer', owner: settings.name });
  const ids: string[] = [];
  for (const { n, key, id } of plan(settings)) {
    const payload: FleetPayload = { producer: settings.name, n };
    const stored = await appendRetrying(session, {
      id,
      key,
      handler: 'send',
      payload: { ...payload },
      attempts: 0,
      enqueuedAt: Date.now(),
    });
    logEvent(settings.log, {
      type: 'enqueue',
      producer: settings.name,
      n,
      key,
      id,
      seq: stored?.seq,
    });
    ids.push(id);
  }
  await session.flush();
  logEvent(settings.log, { type: 'flushed', producer: settings.name, ids });
  await session.close();
}

const settings = JSON.parse(process.argv[2] ?? '{}') as MemberSettings & { holds?: number[] };
send({ type: 'ready' });
if (settings.role === 'worker') await runWorker(settings);
else if (settings.role === 'producer') await runProducer(settings, new Set(settings.holds ?? []));
else await runSessionProducer(settings);
if (settings.role !== 'worker') send({ type: 'flushed' });
process.disconnect?.();
