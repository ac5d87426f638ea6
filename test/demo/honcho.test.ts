/**
 * The demo's handler: Honcho's real SDK (@honcho-ai/sdk 2.5.0) against the
 * real demo service on 127.0.0.1, no mocks. Latencies of a minute stand in
 * for a call that never answers: only an abort can end such a call within the
 * test's limit, so no test here measures time.
 */
import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  Honcho,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnprocessableEntityError,
} from '@honcho-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countsAgainstBreaker, honchoClient, verdictOf } from '../../examples/demo/honchoClient.js';
import {
  createMemoryService,
  type Exchange,
  type MemoryService,
  type PhaseListener,
} from '../../examples/demo/memoryService.js';
import { readStore } from '../../examples/demo/serviceStore.js';
import type {
  AddMessagesPayload,
  CallSample,
  PhaseWindow,
  Scenario,
} from '../../examples/demo/types.js';
import {
  type DurableBatchContext,
  memoryBacklog,
  NonRetryableError,
  SyncWorker,
  TaskTimeoutError,
} from '../../src/index.js';

const NEVER_MS = 60_000;
const WORKSPACE = 'ws-test';

function window(
  name: PhaseWindow['name'],
  startMs: number,
  endMs: number,
  extra: Partial<PhaseWindow> = {},
): PhaseWindow {
  return { name, startMs, endMs, latency: { medianMs: 0, sigma: 0 }, errorRate: 0, ...extra };
}

const scenarioOf = (...windows: PhaseWindow[]): Scenario => ({
  seed: 1,
  coldStartMs: 0,
  coldStartFactor: 1,
  windows,
});

const HEALTHY = scenarioOf(window('healthy', 0, Number.POSITIVE_INFINITY));
const NEVER_ANSWERS = scenarioOf(
  window('healthy', 0, Number.POSITIVE_INFINITY, { latency: { medianMs: NEVER_MS, sigma: 0 } }),
);

function turn(session: string, n: number): AddMessagesPayload {
  const id = `${session}-t${String(n).padStart(3, '0')}`;
  return {
    session,
    turn: n,
    messages: [
      { id: `${id}-u`, session, turn: n, role: 'user', text: `question ${n}` },
      { id: `${id}-a`, session, turn: n, role: 'assistant', text: `answer ${n}` },
    ],
  };
}

function contextOf(payloads: AddMessagesPayload[], signal = new AbortController().signal) {
  const context: DurableBatchContext = {
    ids: payloads.map((p) => `${p.session}-t${p.turn}`),
    attempts: payloads.map(() => 1),
    key: (payloads[0] as AddMessagesPayload).session,
    signal,
    timeoutMs: 1_000,
  };
  return context;
}

let dir: string;
let file: string;
const services: MemoryService[] = [];

async function start(
  scenario: Scenario,
  now?: () => number,
  onExchange?: (exchange: Exchange) => void,
): Promise<MemoryService> {
  const service = await createMemoryService({ file, scenario, now, onExchange });
  services.push(service);
  return service;
}

function clientFor(service: MemoryService, ceilingMs = 5_000) {
  const calls: CallSample[] = [];
  const client = honchoClient({
    target: () => ({ baseURL: service.url, workspaceId: WORKSPACE }),
    ceilingMs,
    now: () => performance.now(),
    onCall: (call) => calls.push(call),
  });
  return { ...client, calls };
}

/** What the handler threw, failing the test if it resolved. */
async function thrownBy(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honcho-handler-'));
  file = path.join(dir, 'store.jsonl');
});

afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Resolves when the service enters a window named `name`. */
function phaseNamed(service: MemoryService, name: PhaseWindow['name']): Promise<void> {
  return new Promise((resolve) => {
    const listener: PhaseListener = (w) => {
      if (w.name !== name) return;
      off();
      resolve();
    };
    const off = service.onPhase(listener);
  });
}

const REFUSE_THEN_HEALTHY = scenarioOf(
  window('outage', 0, 100, { outage: 'refuse' }),
  window('healthy', 100, Number.POSITIVE_INFINITY),
);

describe('the SDK facts the handler’s rules rest on (@honcho-ai/sdk 2.5.0)', () => {
  it('is the pinned version', () => {
    const read = (url: string) => JSON.parse(readFileSync(new URL(url, import.meta.url), 'utf8'));
    expect(read('../../node_modules/@honcho-ai/sdk/package.json').version).toBe('2.5.0');
    expect(read('../../package.json').devDependencies['@honcho-ai/sdk']).toBe('2.5.0');
  });

  it('honcho.session(id) posts a get-or-create on every call: sessions are worth caching', async () => {
    const seen: Exchange[] = [];
    const service = await start(HEALTHY, undefined, (e) => seen.push(e));
    const honcho = new Honcho({ baseURL: service.url, workspaceId: WORKSPACE, maxRetries: 0 });
    await honcho.session('s0');
    await honcho.session('s0');
    expect(seen.map((e) => [e.url, e.status])).toEqual([
      ['/v3/workspaces', 201],
      [`/v3/workspaces/${WORKSPACE}/sessions`, 201],
      [`/v3/workspaces/${WORKSPACE}/sessions`, 200],
    ]);
  });

  it('a client keeps the failure of its first call: it must be rebuilt', async () => {
    let now = 0;
    const service = await start(REFUSE_THEN_HEALTHY, () => now);
    const honcho = new Honcho({ baseURL: service.url, workspaceId: WORKSPACE, maxRetries: 0 });
    await expect(honcho.session('s0')).rejects.toBeInstanceOf(ConnectionError);
    now = 150;
    await phaseNamed(service, 'healthy');
    await expect(honcho.session('s0')).rejects.toBeInstanceOf(ConnectionError);
    const rebuilt = new Honcho({ baseURL: service.url, workspaceId: WORKSPACE, maxRetries: 0 });
    await expect(rebuilt.session('s0')).resolves.toMatchObject({ id: 's0' });
  });

  it('its HTTP client sends a request even when the signal it is given is already aborted', async () => {
    const seen: Exchange[] = [];
    const service = await start(HEALTHY, undefined, (e) => seen.push(e));
    const honcho = new Honcho({ baseURL: service.url, workspaceId: WORKSPACE, maxRetries: 0 });
    await honcho.http.post('/v3/workspaces', {
      body: { id: WORKSPACE },
      signal: AbortSignal.abort(),
    });
    expect(seen.map((e) => [e.url, e.status])).toEqual([['/v3/workspaces', 201]]);
  });
});

describe('the SDK handler: the deadline', () => {
  it('a slow call is aborted at the worker’s deadline and rethrows the signal’s reason', async () => {
    const service = await start(NEVER_ANSWERS);
    // The SDK's own timeout (twice this) is beyond the test's limit: only the worker's abort ends the call.
    const client = clientFor(service, NEVER_MS / 2);
    let settle: (value: { error: unknown; reason: unknown }) => void = () => {};
    const settled = new Promise<{ error: unknown; reason: unknown }>((resolve) => {
      settle = resolve;
    });
    const worker = new SyncWorker({
      backlog: memoryBacklog(),
      handlers: {
        add: {
          batch: { maxSize: 50 },
          // The handler's own promise must settle: the worker alone would move on at its deadline.
          run: (payloads: AddMessagesPayload[], context: DurableBatchContext) =>
            client.addMessages(payloads, context).catch((error: unknown) => {
              settle({ error, reason: context.signal.reason });
              throw error;
            }),
        },
      },
      latencyTracker: { floorMs: 50, defaultMs: 100, ceilingMs: 200 },
      retry: { maxAttempts: 1 },
    });
    try {
      worker.enqueue({ handler: 'add', key: 's0', id: 's0-t0', payload: turn('s0', 0) });
      const { error, reason } = await settled;
      expect(error).toBeInstanceOf(TaskTimeoutError);
      expect(error).toBe(reason);
      expect(client.calls.map((c) => c.outcome)).toEqual(['timeout']);
      // The request did reach the service, which had not answered: the abort ended it.
      expect(readStore(file).filter((l) => l.kind === 'messages')).toEqual([]);
    } finally {
      await worker.shutdown({ timeoutMs: 1_000 });
    }
  });

  it('an already aborted signal sends no request at all', async () => {
    const service = await start(HEALTHY);
    const client = clientFor(service);
    const controller = new AbortController();
    const reason = new TaskTimeoutError(100);
    controller.abort(reason);
    const error = await thrownBy(
      client.addMessages([turn('s0', 0)], contextOf([turn('s0', 0)], controller.signal)),
    );
    expect(error).toBe(reason);
    // Not even the workspace's get-or-create: the SDK would have sent it, aborted or not.
    expect(readStore(file)).toEqual([]);
  });

  it('the SDK’s own timeout (set above the tracker’s ceiling) is a retryable TimeoutError', async () => {
    const service = await start(NEVER_ANSWERS);
    const client = clientFor(service, 50);
    const error = await thrownBy(client.addMessages([turn('s0', 0)], contextOf([turn('s0', 0)])));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(countsAgainstBreaker(error as Error)).toBe(true);
  });
});

describe('the SDK handler: answers', () => {
  it.each([
    ['409', 'delivered', new ConflictError()],
    ['400', 'reject', new BadRequestError('bad')],
    ['401', 'reject', new AuthenticationError()],
    ['404', 'reject', new NotFoundError()],
    ['422', 'reject', new UnprocessableEntityError()],
    ['429', 'retry', new RateLimitError()],
    ['500', 'retry', new ServerError('down', 500)],
    ['503', 'retry', new ServerError('away', 503)],
    ['a refused connection', 'retry', new ConnectionError()],
    ['the SDK’s timeout', 'retry', new TimeoutError()],
    ['anything else', 'retry', new Error('?')],
  ])('takes %s (the SDK’s own error class) as %s', (_, verdict, error) => {
    expect(verdictOf(error)).toBe(verdict);
  });

  it('stores a batch of turns in one call, and counts a 409 (all stored) as delivered', async () => {
    const service = await start(HEALTHY);
    const client = clientFor(service);
    const batch = [turn('s0', 0), turn('s0', 1)];
    await client.addMessages(batch, contextOf(batch));
    await client.addMessages(batch, contextOf(batch));
    expect(client.calls.map((c) => [c.outcome, c.messages])).toEqual([
      ['stored', 4],
      ['duplicate', 4],
    ]);
    const stored = readStore(file).flatMap((l) => (l.kind === 'messages' ? l.messages : []));
    expect(stored.map((m) => [m.peer_id, m.metadata])).toEqual([
      ['user', { demo_id: 's0-t000-u', task_id: 's0-t0', turn: 0 }],
      ['assistant', { demo_id: 's0-t000-a', task_id: 's0-t0', turn: 0 }],
      ['user', { demo_id: 's0-t001-u', task_id: 's0-t1', turn: 1 }],
      ['assistant', { demo_id: 's0-t001-a', task_id: 's0-t1', turn: 1 }],
    ]);
  });

  it('a 422 is a NonRetryableError that does not count against the breaker: the remote answered', async () => {
    const service = await start(HEALTHY);
    const client = clientFor(service);
    await client.addMessages([turn('s0', 0)], contextOf([turn('s0', 0)]));
    const mixed = [turn('s0', 0), turn('s0', 1)];
    const error = await thrownBy(client.addMessages(mixed, contextOf(mixed)));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(countsAgainstBreaker(error as Error)).toBe(false);
    expect(client.calls.at(-1)?.outcome).toBe('rejected');
  });

  it('a 5xx is a retryable ServerError that counts against the breaker', async () => {
    const service = await start(
      scenarioOf(window('healthy', 0, Number.POSITIVE_INFINITY, { errorRate: 1 })),
    );
    const client = clientFor(service);
    const error = await thrownBy(client.addMessages([turn('s0', 0)], contextOf([turn('s0', 0)])));
    expect(error).toBeInstanceOf(ServerError);
    expect(countsAgainstBreaker(error as Error)).toBe(true);
    expect(client.calls.map((c) => c.outcome)).toEqual(['error']);
  });

  it('a client whose first call was refused is rebuilt, and the next call goes through', async () => {
    let now = 0;
    const service = await start(REFUSE_THEN_HEALTHY, () => now);
    const client = clientFor(service);
    const first = await thrownBy(client.addMessages([turn('s0', 0)], contextOf([turn('s0', 0)])));
    expect(first).toBeInstanceOf(ConnectionError);
    expect(countsAgainstBreaker(first as Error)).toBe(true);
    now = 150;
    await phaseNamed(service, 'healthy');
    await client.addMessages([turn('s0', 0)], contextOf([turn('s0', 0)]));
    expect(client.calls.map((c) => c.outcome)).toEqual(['refused', 'stored']);
    expect(client.connection.built).toBe(2);
  });
});
