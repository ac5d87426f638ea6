import type { Redis } from 'ioredis';
import { decodeDeadLetter, decodeRecord, encodeRecord, revive } from '../backlog/record.js';
import type { BacklogRecord, DeadLetter } from '../backlog/types.js';
import { randomId } from '../durable/randomId.js';
import { AppendsInFlight } from '../shared/appendsInFlight.js';
import { producerRefusal, sessionOwner } from '../shared/session.js';
import type {
  SharedBacklog,
  SharedBacklogStats,
  SharedClaim,
  SharedOpenOptions,
  SharedRecord,
} from '../shared/types.js';
import { storeError } from './errors.js';
import { ACK, APPEND, BURY, CLAIM, DUE, RELEASE, RENEW, RETRY } from './lua.js';
import { DEAD_LETTERS, LIST, PURGE, REQUEUE, STATS } from './luaAdmin.js';
import { LuaScript } from './scripts.js';

/** What a session needs of its store. */
export interface SessionSettings {
  client: Redis;
  location: string;
  prefix: string;
  options: SharedOpenOptions;
  /** Called once when the session closes. */
  ended(): Promise<void>;
}

const SCRIPTS = {
  append: new LuaScript(APPEND),
  claim: new LuaScript(CLAIM),
  ack: new LuaScript(ACK),
  retry: new LuaScript(RETRY),
  bury: new LuaScript(BURY),
  renew: new LuaScript(RENEW),
  release: new LuaScript(RELEASE),
  dueInMs: new LuaScript(DUE),
  stats: new LuaScript(STATS),
  list: new LuaScript(LIST),
  deadLetters: new LuaScript(DEAD_LETTERS),
  requeueDeadLetters: new LuaScript(REQUEUE),
  purge: new LuaScript(PURGE),
} as const;

type Operation = keyof typeof SCRIPTS;

/**
 * Most records one claim hands out: the script reads them in one go, and a
 * claim of thousands would hold the server (which runs one script at a time).
 */
const MAX_CLAIM = 1_000;

/**
 * A stored record that cannot be decoded still holds its key's place: it is
 * handed out under a handler no worker registers, so the worker that claims
 * it buries it (with the reason) and the key moves on.
 */
function readRecord(
  seq: number,
  body: string | null,
  lostLeases: number,
  key: string,
): SharedRecord {
  try {
    return { ...decodeRecord(seq, body ?? ''), lostLeases };
  } catch (error) {
    return {
      seq,
      id: `corrupt-${seq}`,
      key,
      handler: '',
      payload: body ?? '',
      attempts: 0,
      enqueuedAt: 0,
      lastError: `stored record could not be read: ${(error as Error).message}`,
      lostLeases,
    };
  }
}

type ClaimReply = [string, number, string, string[], (string | null)[], (string | null)[]];

/** The claim script's answer as a claim. */
function claimOf(reply: ClaimReply, owner: string): SharedClaim {
  const [key, token, until, seqs, bodies, lost] = reply;
  return {
    lease: { key, owner, token: Number(token), expiresAt: Number(until) },
    records: seqs.map((seq, i) =>
      readRecord(Number(seq), bodies[i] ?? null, Number(lost[i] ?? 0), key),
    ),
  };
}

/** One session on a Redis shared backlog: every call is one script, one round trip. */
export function redisSession(settings: SessionSettings): SharedBacklog {
  const { client, location, prefix } = settings;
  const owner = sessionOwner(settings.options);
  const role = settings.options.role ?? 'worker';
  const appends = new AppendsInFlight();
  let closed = false;
  // Numbers this session's appends and claims, so a command that ioredis sends again after a
  // broken connection is recognised by the server and not applied twice.
  // The random part keeps a restarted process that reuses its owner id from matching old numbers.
  const nonceBase = randomId();
  let nonces = 0;
  const nonce = () => `${nonceBase}.${++nonces}`;

  const run = async (what: Operation, args: readonly (string | number)[]): Promise<unknown> => {
    try {
      return await SCRIPTS[what].run(client, [prefix, ...args]);
    } catch (error) {
      throw storeError(location, what, error);
    }
  };
  const flag = async (what: Operation, args: readonly (string | number)[]): Promise<boolean> =>
    Number(await run(what, args)) === 1;
  const refuseProducer = (): void => {
    if (role === 'producer') throw producerRefusal(location, owner);
  };

  return {
    location,
    owner,
    role,
    append(records) {
      if (records.length === 0) return Promise.resolve([]);
      const args = records.flatMap((r) => [r.key, encodeRecord({ ...r, seq: 0 })]);
      const done = run('append', [owner, nonce(), ...args]).then((seqs) =>
        records.map((r, i): BacklogRecord => ({ ...r, seq: Number((seqs as number[])[i]) })),
      );
      return appends.track(done);
    },
    async flush() {
      await appends.settled();
    },
    async claim(request) {
      refuseProducer();
      const limit = Math.min(MAX_CLAIM, Math.max(1, request.limit));
      const leaseMs = Math.max(1, Math.ceil(request.leaseMs));
      const reply = await run('claim', [owner, limit, leaseMs, nonce()]);
      return reply === null ? undefined : claimOf(reply as ClaimReply, owner);
    },
    async dueInMs() {
      refuseProducer();
      const ms = await run('dueInMs', []);
      return ms === null ? undefined : Number(ms);
    },
    ack: (lease, seqs, options) =>
      flag('ack', [lease.key, lease.token, options?.release === true ? 1 : 0, ...seqs]),
    retry: (lease, records, delayMs) =>
      flag('retry', [
        lease.key,
        lease.token,
        Math.max(0, Math.ceil(delayMs)),
        ...records.flatMap((r) => [r.seq, encodeRecord({ ...r, key: lease.key })]),
      ]),
    bury: (lease, letters, options) =>
      flag('bury', [
        lease.key,
        lease.token,
        options?.release === true ? 1 : 0,
        ...letters.flatMap((l) => [l.seq, encodeRecord({ ...l, key: lease.key })]),
      ]),
    renew: (lease, leaseMs) =>
      flag('renew', [lease.key, lease.token, Math.max(1, Math.ceil(leaseMs))]),
    release: (lease) => flag('release', [lease.key, lease.token]),
    async requeueDeadLetters() {
      const letters = await this.deadLetters();
      if (letters.length === 0) return 0;
      const args = letters.flatMap((letter) => {
        const fresh = revive(letter, 0);
        return [letter.seq, fresh.key, encodeRecord(fresh)];
      });
      return Number(await run('requeueDeadLetters', args));
    },
    async stats(): Promise<SharedBacklogStats> {
      const [pending, dead, leased, oldest, pairs] = (await run('stats', [])) as [
        number,
        number,
        number,
        string,
        string[],
      ];
      const byKey: Record<string, number> = {};
      for (let i = 0; i < pairs.length; i += 2) byKey[pairs[i] as string] = Number(pairs[i + 1]);
      return {
        pending: Number(pending),
        deadLetters: Number(dead),
        byKey,
        oldestEnqueuedAt: Number(oldest) < 0 ? undefined : Number(oldest),
        leased: Number(leased),
      };
    },
    async list(options = {}) {
      const [seqs, bodies, lost] = (await run('list', [options.key ?? '', options.limit ?? 0])) as [
        string[],
        (string | null)[],
        (string | null)[],
      ];
      return seqs.map((seq, i) => {
        const body = bodies[i] ?? null;
        const record = readRecord(Number(seq), body, Number(lost[i] ?? 0), options.key ?? '');
        return record;
      });
    },
    async deadLetters(options = {}): Promise<DeadLetter[]> {
      const [seqs, bodies] = (await run('deadLetters', [options.limit ?? 0])) as [
        string[],
        (string | null)[],
      ];
      return seqs.map((seq, i) => decodeDeadLetter(Number(seq), bodies[i] ?? ''));
    },
    purge: async () => Number(await run('purge', [])),
    async close() {
      if (closed) return;
      closed = true;
      await this.flush();
      await settings.ended();
    },
  };
}
