/**
 * 11. A fleet on a shared store: tasks per second with 1, 2 and 4 worker
 * processes (each at concurrency 1) over 1,000 keys, with an instant handler
 * and with a 5 ms remote, for redisBacklog and postgresBacklog, against plain
 * BullMQ on the same Redis. Per-key order violations are counted for each
 * (ours must have none: a check). The store's own cost: the server
 * process's CPU time (/proc/<pid>/stat, with PostgreSQL's backends) per task,
 * with 1 worker and the instant handler.
 *
 * Needs the servers of `.ci/servers` (XSW_REDIS_URL, XSW_POSTGRES_URL, and
 * XSW_SERVERS_DIR for the CPU figures); without them the case says so and
 * measures nothing. The backlog is filled before the workers start (untimed);
 * a sample is timed from the workers' `go` until the last task has ended.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { postgresBacklog } from '../../src/postgres/index.js';
import { redisBacklog } from '../../src/redis/index.js';
import { mulberry32 } from '../../test/support/random.js';
import { serverCpuMs, serversControllable, serverUrl } from '../../test/support/servers.js';
import type { FleetMemberSettings, FleetTask } from '../lib/fleetMember.js';
import { quick, runCase, type Subject } from '../lib/harness.js';

const MEMBER = fileURLToPath(new URL('../lib/fleetMember.ts', import.meta.url));
/** 1,000 keys as the issue asks; `--quick` only shows the harness works, with fewer. */
const KEYS = quick ? 50 : 1_000;
const WORKERS = [1, 2, 4];
/** Tasks per sample, per remote latency. */
const TASKS: Record<number, number> = quick ? { 0: 500, 5: 150 } : { 0: 5_000, 5: 2_000 };
const ROUNDS = quick ? 1 : 2;
type Kind = FleetMemberSettings['kind'];
const LABEL: Record<Kind, string> = {
  redis: 'redisBacklog',
  postgres: 'postgresBacklog',
  bullmq: 'BullMQ (plain)',
};

interface Sample {
  tasksPerSecond: number;
  violations: number;
  cpuMsPerTask: number | undefined;
}

let made = 0;
const locationOf = (kind: Kind) => {
  made++;
  return kind === 'postgres'
    ? `xsw_bench_${process.pid}_${made}`
    : `xsw-bench-${process.pid}-${made}${kind === 'redis' ? ':' : ''}`;
};
const urlOf = (kind: Kind) => serverUrl(kind === 'postgres' ? 'postgres' : 'redis') as string;
/**
 * The tasks of a sample of `n`: each goes to a key drawn with a seeded PRNG
 * (the same for every subject), so a key's tasks sometimes follow one
 * another, as a chat session's do; `pos` is its place in that key.
 */
function tasksOf(n: number): FleetTask[] {
  const random = mulberry32(13);
  const counts = new Map<string, number>();
  return Array.from({ length: n }, () => {
    const k = `k${Math.floor(random() * KEYS)}`;
    const pos = counts.get(k) ?? 0;
    counts.set(k, pos + 1);
    return { k, pos };
  });
}

/** Fills the store (untimed): our producer session's appends, or BullMQ's addBulk. */
async function fill(kind: Kind, location: string, n: number): Promise<void> {
  const tasks = tasksOf(n);
  if (kind === 'bullmq') {
    const url = new URL(urlOf(kind));
    const queue = new Queue(location, {
      connection: { host: url.hostname, port: Number(url.port) },
    });
    for (let from = 0; from < n; from += 500) {
      const jobs = [];
      for (let i = from; i < Math.min(n, from + 500); i++)
        jobs.push({ name: 'run', data: tasks[i] });
      await queue.addBulk(jobs);
    }
    await queue.close();
    return;
  }
  const store =
    kind === 'redis'
      ? redisBacklog({ url: urlOf(kind), prefix: location })
      : postgresBacklog({ connectionString: urlOf(kind), schema: location });
  const session = await store.open({ role: 'producer' });
  for (let from = 0; from < n; from += 500) {
    const records = [];
    for (let i = from; i < Math.min(n, from + 500); i++) {
      const task = tasks[i] as FleetTask;
      records.push({
        id: `t${i}`,
        key: task.k,
        handler: 'run',
        payload: { ...task },
        attempts: 0,
        enqueuedAt: Date.now(),
      });
    }
    await session.append(records);
  }
  await session.close();
}

async function drop(kind: Kind, location: string): Promise<void> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: urlOf(kind) });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${location}" CASCADE`);
    await client.end();
    return;
  }
  const client = new Redis(urlOf(kind));
  const pattern = kind === 'bullmq' ? `bull:${location}:*` : `${location}*`;
  for (;;) {
    const keys = await client.keys(pattern);
    if (keys.length === 0) break;
    await client.del(...keys.slice(0, 1_000));
  }
  await client.quit();
}

/** Per key, a start is a violation while an earlier task of its key has not started, or one is in flight. */
function violationsIn(log: string): number {
  const next = new Map<string, number>();
  const inFlight = new Set<string>();
  let violations = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [phase, key, posText] = line.split(' ');
    if (key === undefined) continue;
    const pos = Number(posText);
    if (phase === 'E') {
      inFlight.delete(key);
      continue;
    }
    const expected = next.get(key) ?? 0;
    if (pos !== expected || inFlight.has(key)) violations++;
    next.set(key, Math.max(expected, pos + 1));
    inFlight.add(key);
  }
  return violations;
}

function startMember(
  settings: FleetMemberSettings,
  onEnd: () => void,
): { child: ChildProcess; ready: Promise<void>; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MEMBER, JSON.stringify(settings)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve) => {
    child.on('message', (message) => {
      if (message === 'ready') resolve();
      else if (message === 'e') onEnd();
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, ready, exited };
}

/** One run: fill, start `workers` members, time `go` to the last end, count violations, clean up. */
async function sample(kind: Kind, workers: number, remoteMs: number): Promise<Sample> {
  const n = TASKS[remoteMs] as number;
  const location = locationOf(kind);
  const dir = mkdtempSync(join(tmpdir(), 'xsw-fleet-bench-'));
  const log = join(dir, 'calls.log');
  await fill(kind, location, n);
  let ended = 0;
  let finish: () => void = () => undefined;
  const allEnded = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const members = Array.from({ length: workers }, () =>
    startMember({ kind, url: urlOf(kind), location, log, remoteMs }, () => {
      if (++ended === n) finish();
    }),
  );
  await Promise.all(members.map((m) => m.ready));
  const server = kind === 'postgres' ? 'postgres' : 'redis';
  const cpuBefore = serversControllable() ? serverCpuMs(server) : undefined;
  const started = performance.now();
  for (const member of members) member.child.send('go');
  await allEnded;
  const elapsed = performance.now() - started;
  const cpuAfter = serversControllable() ? serverCpuMs(server) : undefined;
  for (const member of members) member.child.send('stop');
  await Promise.all(members.map((m) => m.exited));
  const violations = violationsIn(log);
  rmSync(dir, { recursive: true, force: true });
  await drop(kind, location);
  return {
    tasksPerSecond: (n / elapsed) * 1_000,
    violations,
    cpuMsPerTask:
      cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / n,
  };
}

await runCase(
  { id: 'fleet', title: '11. A fleet on a shared store (Redis, PostgreSQL, BullMQ)' },
  async (ctx) => {
    const missing = [
      serverUrl('redis') ? '' : 'XSW_REDIS_URL',
      serverUrl('postgres') ? '' : 'XSW_POSTGRES_URL',
    ].filter(Boolean);
    if (missing.length > 0) {
      ctx.note(
        `skipped: ${missing.join(' and ')} not set (start the servers with bash .ci/servers start DIR and source DIR/env)`,
      );
      return;
    }
    const violations = new Map<string, number>();
    const cpu = new Map<Kind, number[]>();
    for (const remoteMs of [0, 5]) {
      for (const workers of WORKERS) {
        const subjects: Subject[] = (['redis', 'postgres', 'bullmq'] as const).map((kind) => ({
          name: LABEL[kind],
          role: kind === 'redis' ? 'subject' : kind === 'postgres' ? 'detail' : 'peer',
          sample: async () => {
            const result = await sample(kind, workers, remoteMs);
            const label = `${LABEL[kind]}, ${workers} worker${workers > 1 ? 's' : ''}, ${remoteMs === 0 ? 'instant' : '5 ms'}`;
            violations.set(label, (violations.get(label) ?? 0) + result.violations);
            if (workers === 1 && remoteMs === 0 && result.cpuMsPerTask !== undefined) {
              cpu.set(kind, [...(cpu.get(kind) ?? []), result.cpuMsPerTask]);
            }
            return result.tasksPerSecond;
          },
        }));
        await ctx.sampleRounds(
          {
            id: `fleet-${remoteMs}ms-${workers}w`,
            title: `${workers} worker process${workers > 1 ? 'es' : ''}, ${remoteMs === 0 ? 'instant handler' : '5 ms remote'}, ${TASKS[remoteMs]} tasks over ${KEYS} keys`,
            note: "A sample is one run: the backlog is filled first (untimed), then timed from the workers' go to the last task's end. Each worker process runs at concurrency 1.",
            unit: 'tasks/s',
            quantity: 'throughput',
          },
          subjects,
          { warmup: 0, rounds: ROUNDS },
        );
      }
    }
    for (const [label, count] of violations) {
      if (label.startsWith('BullMQ')) ctx.note(`per-key order violations, ${label}: ${count}`);
      else ctx.check(`no per-key order violation: ${label}`, count === 0, `${count} violations`);
    }
    for (const kind of ['redis', 'postgres'] as const) {
      const five1 = ctx.median('fleet-5ms-1w', LABEL[kind]);
      const five4 = ctx.median('fleet-5ms-4w', LABEL[kind]);
      ctx.target(
        `fleet-scale-${kind}`,
        `${LABEL[kind]}: 5 ms remote, 4 workers over 1`,
        five4 / five1,
        '>=',
        2.5,
      );
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    if (cpu.size > 0) {
      for (const [kind, values] of cpu)
        ctx.note(
          `server CPU per task, ${LABEL[kind]}, 1 worker, instant: ${(median(values) * 1_000).toFixed(1)} µs`,
        );
      const redisCpu = cpu.get('redis');
      const pgCpu = cpu.get('postgres');
      if (redisCpu)
        ctx.target(
          'fleet-cpu-redis',
          'Redis server CPU per task (ms), 1 worker, instant',
          median(redisCpu),
          '<=',
          0.1,
          ' ms',
        );
      if (pgCpu)
        ctx.target(
          'fleet-cpu-postgres',
          'PostgreSQL server CPU per task (ms), 1 worker, instant',
          median(pgCpu),
          '<=',
          0.5,
          ' ms',
        );
    } else {
      ctx.note(
        'server CPU per task: not measured (XSW_SERVERS_DIR is not set: only servers started by .ci/servers are measured)',
      );
    }
  },
);
