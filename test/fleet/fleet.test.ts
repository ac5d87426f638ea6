/**
 * Fleet tests on real servers, with real processes: three worker processes
 * and two producers (one through a producer-only SyncWorker, one through a
 * store session, which logs the store's seqs) on one store. Mid-run a worker
 * is SIGKILLed inside a handler, another is SIGSTOPped inside a handler until
 * a second worker has run that task again (its lease expired), then SIGCONTed
 * (its late ack must be refused), and the server is restarted. The history
 * checker then reads the log every member wrote.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  describeWithServers,
  type OwnServers,
  requireServerUrl,
  restartServer,
  type ServerKind,
  serversControllable,
  startOwnServers,
} from '../support/servers.js';
import { condition, kill, type Member, pause, startMember } from './fleet.js';
import { checkHistory, logEvent, readHistory } from './history.js';
import type { MemberMessage, MemberSettings } from './member.js';

const TASKS = 150;
const KEYS = 20;
const members: Member[] = [];
afterEach(async () => {
  for (const member of members.splice(0)) {
    if (member.child.exitCode === null && member.child.signalCode === null) {
      member.child.kill('SIGCONT');
      member.child.kill('SIGKILL');
    }
    await member.exited;
  }
});

// Where .ci/servers started the servers, this file restarts servers of its own: restarting the
// shared ones would pull them from under the test files that run beside it.
let own: OwnServers | undefined;
beforeAll(async () => {
  if (serversControllable()) own = await startOwnServers();
}, 60_000);
afterAll(async () => {
  await own?.stop();
});
const urlOf = (kind: ServerKind): string => own?.urls[kind] ?? requireServerUrl(kind);

let made = 0;
/** A fresh location on the server: its own key prefix or schema. */
function location(kind: ServerKind): MemberSettings['store'] {
  made++;
  const tag = `fleet_${process.pid}_${made}`;
  return kind === 'redis'
    ? { kind, url: urlOf('redis'), prefix: `xsw-${tag}:` }
    : { kind, url: urlOf('postgres'), schema: `xsw_${tag}` };
}

async function dropLocation(store: MemberSettings['store']): Promise<void> {
  if (store.kind === 'redis') {
    const client = new Redis(store.url);
    const keys = await client.keys(`${store.prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
    return;
  }
  const client = new pg.Client({ connectionString: store.url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${store.schema}" CASCADE`);
  await client.end();
}

/** The whole scenario on one store; resolves with the log's file once every flushed task is delivered. */
async function runFleet(
  kind: ServerKind,
): Promise<{ log: string; redelivered: Map<string, Set<string>> }> {
  const log = path.join(mkdtempSync(path.join(tmpdir(), 'xsw-fleet-')), 'history.jsonl');
  writeFileSync(log, '');
  const store = location(kind);
  const delivered = new Map<string, Set<string>>(); // id → workers that delivered it
  const flushedProducers = new Set<string>();
  const heldOnce = new Map<string, string>(); // held id → the first worker's fault
  let resume: (() => void) | undefined;
  let pausedMember: Member | undefined;
  let restart: Promise<void> | undefined;
  let deliveries = 0;
  const done = condition(() => flushedProducers.size === 2 && delivered.size >= 2 * TASKS);
  const workerSettings = (name: string): MemberSettings => ({
    role: 'worker',
    name,
    store,
    log,
    leaseMs: 1_000,
    remoteMs: 2,
  });

  const onMessage = (member: Member, message: MemberMessage): void => {
    if (message.type === 'flushed') flushedProducers.add(member.name);
    if (message.type === 'delivered') {
      deliveries++;
      const by = delivered.get(message.id) ?? new Set<string>();
      by.add(member.name);
      delivered.set(message.id, by);
      // Another worker has run the paused worker's task: its lease is gone. Wake it.
      if (
        pausedMember &&
        resume &&
        heldOnce.get(message.id) === 'pause' &&
        member !== pausedMember
      ) {
        resume();
        pausedMember.child.send({ type: 'go' });
        resume = undefined;
      }
      if (deliveries === TASKS && restart === undefined && own !== undefined) {
        logEvent(log, { type: 'fault', kind: 'restart' });
        restart = restartServer(kind, own.dir).then(() =>
          logEvent(log, { type: 'fault', kind: 'restarted' }),
        );
      }
    }
    if (message.type === 'hold') {
      if (heldOnce.has(message.id)) {
        member.child.send({ type: 'go' });
      } else if (heldOnce.size === 0) {
        heldOnce.set(message.id, 'kill');
        kill(log, member);
        members.push(started(startMember(workerSettings('w4'), onMessage)));
      } else {
        heldOnce.set(message.id, 'pause');
        pausedMember = member;
        resume = pause(log, member);
      }
    }
    done.poke();
  };

  // A member that dies on its own (not by our SIGKILL) fails the run at once, with its stderr.
  let failed: (error: Error) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => {
    failed = reject;
  });
  const started = (member: Member): Member => {
    void member.exited.then((code) => {
      if (code !== 0 && member.child.signalCode !== 'SIGKILL') {
        failed(new Error(`${member.name} exited with ${code}: ${member.stderr}`));
      }
    });
    return member;
  };
  // The first worker makes the schema or stamps the layout; the others open it as it stands.
  for (const name of ['w1', 'w2', 'w3'])
    members.push(started(startMember(workerSettings(name), onMessage)));
  const producer = { store, log, tasks: TASKS, keys: KEYS };
  members.push(
    started(startMember({ ...producer, role: 'producer', name: 'p1', holds: [20, 60] }, onMessage)),
    started(startMember({ ...producer, role: 'session-producer', name: 'p2' }, onMessage)),
  );
  await Promise.race([done.reached, failure]);
  await restart;
  for (const member of members) {
    if (member.child.connected) member.child.send({ type: 'stop' });
  }
  await Promise.all(members.map((member) => member.exited));
  await dropLocation(store);
  const redelivered = new Map([...delivered].filter(([, by]) => by.size > 1));
  return { log, redelivered };
}

for (const kind of ['redis', 'postgres'] as const) {
  describeWithServers([kind], `a fleet of processes on ${kind}`, () => {
    it('delivers every flushed task, per key in order, through a SIGKILL, a SIGSTOP past the lease and a server restart', async () => {
      const { log, redelivered } = await runFleet(kind);
      const events = readHistory(log);
      expect(checkHistory(events), `the history at ${log}`).toEqual([]);
      // The faults happened: both held tasks ran again on another worker, and (where the
      // .ci/servers can start servers of this file's own) the server restarted mid-run.
      expect([...redelivered.keys()]).toEqual(expect.arrayContaining(['p1-20', 'p1-60']));
      const faults = events.filter((e) => e.type === 'fault').map((e) => e.kind);
      expect(faults).toEqual(expect.arrayContaining(['kill', 'pause']));
      if (own !== undefined) expect(faults).toContain('restart');
    }, 120_000);
  });
}
