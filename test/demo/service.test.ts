import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ArrivedWrite,
  createMemoryService,
  type MemoryService,
  type MemoryServiceOptions,
} from '../../examples/demo/memoryService.js';
import { startServiceProcess } from '../../examples/demo/serviceProcess.js';
import { appendLine, readStore } from '../../examples/demo/serviceStore.js';
import type { PhaseWindow, Scenario } from '../../examples/demo/types.js';
import { eventually, isAlive } from '../support/process.js';

const PARENT_FIXTURE = fileURLToPath(new URL('./fixtures/service-parent.ts', import.meta.url));

/* -- scenarios */

type Conditions = Pick<PhaseWindow, 'latency' | 'errorRate' | 'outage' | 'easesIntoNext'>;
const INSTANT: Conditions = { latency: { medianMs: 0, sigma: 0 }, errorRate: 0 };

/** Windows back to back from t = 0; the last one never ends. */
function scenarioOf(
  phases: [name: PhaseWindow['name'], lengthMs: number, conditions?: Partial<Conditions>][],
  extra: Partial<Omit<Scenario, 'windows'>> = {},
): Scenario {
  let at = 0;
  const windows = phases.map(([name, lengthMs, conditions], i): PhaseWindow => {
    const endMs = i === phases.length - 1 ? Number.POSITIVE_INFINITY : at + lengthMs;
    const window = { name, startMs: at, endMs, ...INSTANT, ...conditions };
    at = endMs;
    return window;
  });
  return { seed: 1, coldStartMs: 0, coldStartFactor: 1, ...extra, windows };
}

const ALWAYS_HEALTHY = scenarioOf([['healthy', 0]]);

/* -- requests */

const WS = 'w';

/** A `MessageBatchCreate` body: one message per demo id, as the SDK sends them. */
function payloadOf(session: string, turn: number, ids: string[]) {
  return {
    messages: ids.map((id, i) => ({
      peer_id: i % 2 === 0 ? 'user' : 'assistant',
      content: `message ${id}`,
      metadata: { demo_id: id, task_id: `${session}-t${turn}`, turn },
    })),
  };
}

/** POSTs JSON to a path of the service. */
function request(
  service: { url: string },
  pathname: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${service.url}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

function post(
  service: { url: string },
  body: unknown,
  { session = 's0', signal }: { session?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return request(service, `/v3/workspaces/${WS}/sessions/${session}/messages`, body, signal);
}

/** The demo ids of each stored batch, in append order. */
function storedIds(store: string): string[][] {
  return readStore(store).flatMap((line) =>
    line.kind === 'messages'
      ? [line.messages.map((m) => (m.metadata as { demo_id: string }).demo_id)]
      : [],
  );
}

/** Workspace `w` and its session `s0`, as the SDK's first calls would have made them. */
function seedStore(store: string): void {
  const created_at = new Date(0).toISOString();
  appendLine(store, {
    kind: 'workspace',
    workspace: { id: WS, metadata: {}, configuration: {}, created_at },
  });
  appendLine(store, {
    kind: 'session',
    session: {
      id: 's0',
      workspace_id: WS,
      is_active: true,
      metadata: {},
      configuration: {},
      created_at,
    },
  });
}

/** The rejection's cause code (`ECONNREFUSED`, `UND_ERR_SOCKET`…), failing if it resolves. */
async function failureCode(request: Promise<Response>): Promise<string | undefined> {
  const error = await request.then(
    (response) => {
      throw new Error(`expected the request to fail, got HTTP ${response.status}`);
    },
    (thrown: unknown) => thrown as { cause?: { code?: string } },
  );
  return error.cause?.code;
}

/** Resolves when the service enters a window matching `match`. */
function phaseReached(
  service: MemoryService,
  match: (w: PhaseWindow) => boolean,
): Promise<PhaseWindow> {
  return new Promise((resolve) => {
    const off = service.onPhase((window) => {
      if (!match(window)) return;
      off();
      resolve(window);
    });
  });
}

/* -- fixture */

let dir: string;
let file: string;
const services: MemoryService[] = [];

async function start(options: Partial<MemoryServiceOptions> = {}): Promise<MemoryService> {
  const service = await createMemoryService({ file, scenario: ALWAYS_HEALTHY, ...options });
  services.push(service);
  return service;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memory-service-'));
  file = path.join(dir, 'store.jsonl');
  seedStore(file);
});

afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('memory service: Honcho routes', () => {
  it('creates a workspace and a session: 201 when created, 200 when present', async () => {
    const service = await start();
    const first = await request(service, '/v3/workspaces', { id: 'other' });
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ id: 'other', metadata: {}, configuration: {} });
    expect((await request(service, '/v3/workspaces', { id: 'other' })).status).toBe(200);
    const session = await request(service, '/v3/workspaces/other/sessions', { id: 's9' });
    expect(session.status).toBe(201);
    expect(await session.json()).toMatchObject({
      id: 's9',
      workspace_id: 'other',
      is_active: true,
    });
    expect((await request(service, '/v3/workspaces/other/sessions', { id: 's9' })).status).toBe(
      200,
    );
  });

  it('answers 404 { detail } for a session of an unknown workspace, or messages of an unknown session', async () => {
    const service = await start();
    const noWorkspace = await request(service, '/v3/workspaces/nope/sessions', { id: 's1' });
    expect(noWorkspace.status).toBe(404);
    expect(typeof (await noWorkspace.json()).detail).toBe('string');
    const noSession = await post(service, payloadOf('s1', 0, ['m1']), { session: 's1' });
    expect(noSession.status).toBe(404);
    expect(storedIds(file)).toEqual([]);
  });

  it('lists a session’s messages in order, paged, and reversed on request', async () => {
    const service = await start();
    for (const turn of [0, 1, 2]) {
      expect(
        (await post(service, payloadOf('s0', turn, [`t${turn}-u`, `t${turn}-a`]))).status,
      ).toBe(201);
    }
    const list = async (query: string) => {
      const response = await request(
        service,
        `/v3/workspaces/${WS}/sessions/s0/messages/list${query}`,
        {},
      );
      expect(response.status).toBe(200);
      return response.json();
    };
    const ids = (page: { items: { metadata: { demo_id: string } }[] }) =>
      page.items.map((m) => m.metadata.demo_id);
    const second = await list('?page=2&size=4');
    expect(second).toMatchObject({ total: 6, page: 2, size: 4, pages: 2 });
    expect(ids(second)).toEqual(['t2-u', 't2-a']);
    expect(ids(await list(''))).toEqual(['t0-u', 't0-a', 't1-u', 't1-a', 't2-u', 't2-a']);
    expect(ids(await list('?size=2&reverse=true'))).toEqual(['t2-a', 't2-u']);
    const tooBig = await request(
      service,
      `/v3/workspaces/${WS}/sessions/s0/messages/list?size=101`,
      {},
    );
    expect(tooBig.status).toBe(422);
  });

  it('answers 404 to an unknown route, 405 to a wrong method, 200 to a health check', async () => {
    const service = await start();
    const unknown = await fetch(`${service.url}/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: 'Not Found' });
    const wrong = await fetch(`${service.url}/v3/workspaces/${WS}/sessions/s0/messages`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    const health = await fetch(`${service.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});

describe('memory service: the store', () => {
  it('stores a batch (201, the created messages), then refuses it again as a duplicate (409)', async () => {
    const service = await start();
    const payload = payloadOf('s0', 0, ['s0-t000-u', 's0-t000-a']);
    const first = await post(service, payload);
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string; session_id: string; content: string }[];
    expect(created.map((m) => [m.session_id, m.content])).toEqual([
      ['s0', 'message s0-t000-u'],
      ['s0', 'message s0-t000-a'],
    ]);
    expect(new Set(created.map((m) => m.id)).size).toBe(2);
    const again = await post(service, payload);
    expect(again.status).toBe(409);
    expect((await again.json()).detail).toMatch(/not of Honcho/);
    expect(service.counts()).toMatchObject({ stored: 1, duplicates: 1 });
    expect(storedIds(file)).toEqual([['s0-t000-u', 's0-t000-a']]);
  });

  it('answers 422 to a batch that is only partly stored, and stores nothing of it', async () => {
    const service = await start();
    expect((await post(service, payloadOf('s0', 0, ['a', 'b']))).status).toBe(201);
    const overlap = await post(service, payloadOf('s0', 0, ['b', 'c']));
    expect(overlap.status).toBe(422);
    expect((await overlap.json()).detail).toMatch(/b/);
    expect(storedIds(file)).toEqual([['a', 'b']]);
  });

  it('stores messages without the demo’s metadata as new every time, as Honcho does', async () => {
    const service = await start();
    const plain = { messages: [{ peer_id: 'user', content: 'hello' }] };
    expect((await post(service, plain)).status).toBe(201);
    expect((await post(service, plain)).status).toBe(201);
    expect(readStore(file).filter((l) => l.kind === 'messages')).toHaveLength(2);
  });

  it('answers FastAPI’s 422 (an array detail) to a malformed body or over 100 messages, and stores nothing', async () => {
    const service = await start();
    const many = payloadOf(
      's0',
      0,
      Array.from({ length: 101 }, (_, i) => `m${i}`),
    );
    const bodies: unknown[] = [
      '{not json',
      [],
      { messages: [] },
      { messages: [{ content: 'no peer' }] },
      { messages: [{ peer_id: 'user', content: 42 }] },
      { messages: [{ peer_id: 'user', content: 'x', metadata: 'not an object' }] },
      many,
    ];
    for (const body of bodies) {
      const response = await post(service, body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      const { detail } = await response.json();
      expect(Array.isArray(detail) && typeof detail[0].msg === 'string').toBe(true);
    }
    expect(
      (
        await post(
          service,
          payloadOf(
            's0',
            0,
            many.messages.slice(0, 100).map((m) => m.metadata.demo_id),
          ),
        )
      ).status,
    ).toBe(201);
    expect(storedIds(file)).toHaveLength(1);
  });

  it('keeps deduplicating after a restart over the same file', async () => {
    const before = await start();
    expect((await post(before, payloadOf('s0', 0, ['m1']))).status).toBe(201);
    await before.close();
    const after = await start();
    expect((await post(after, payloadOf('s0', 0, ['m1']))).status).toBe(409);
    expect((await post(after, payloadOf('s0', 1, ['m2']))).status).toBe(201);
    expect(storedIds(file)).toEqual([['m1'], ['m2']]);
  });

  it('tolerates a torn last line: ignores it, and the next write starts a clean line', async () => {
    const service = await start();
    expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(201);
    await service.close();
    fs.appendFileSync(file, '{"kind":"messages","workspace":"w","session":"s0","messages":[{"id');
    expect(storedIds(file)).toEqual([['m1']]);
    const again = await start();
    expect((await post(again, payloadOf('s0', 0, ['m1']))).status).toBe(409);
    expect((await post(again, payloadOf('s0', 1, ['m2']))).status).toBe(201);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(storedIds(file)).toEqual([['m1'], ['m2']]);
  });

  it('re-terminates a complete last line that lost only its newline', async () => {
    const service = await start();
    expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(201);
    await service.close();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').trimEnd());
    const again = await start();
    expect((await post(again, payloadOf('s0', 0, ['m1']))).status).toBe(409);
    expect((await post(again, payloadOf('s0', 1, ['m2']))).status).toBe(201);
    expect(storedIds(file)).toEqual([['m1'], ['m2']]);
  });

  it('readStore returns the lines in append order, and throws on damage before the end', () => {
    expect(readStore(file).map((l) => l.kind)).toEqual(['workspace', 'session']);
    expect(readStore(path.join(dir, 'missing.jsonl'))).toEqual([]);
    fs.writeFileSync(file, `garbage\n${fs.readFileSync(file, 'utf8')}`);
    expect(() => readStore(file)).toThrow(/:1: not a store line/);
  });
});

describe('memory service: faults', () => {
  it('answers 503 at once during an unavailable outage', async () => {
    let now = 0;
    const scenario = scenarioOf([
      ['healthy', 100],
      ['outage', 100, { outage: 'unavailable' }],
    ]);
    const service = await start({ scenario, now: () => now });
    expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(201);
    now = 150;
    expect(service.phase().outage).toBe('unavailable');
    expect((await post(service, payloadOf('s0', 1, ['m2']))).status).toBe(503);
    const refused = await fetch(`${service.url}/health`);
    expect(refused.status).toBe(503);
    expect(typeof (await refused.json()).detail).toBe('string');
    expect(service.counts()).toMatchObject({ stored: 1, unavailable: 2 });
    expect(storedIds(file)).toHaveLength(1);
  });

  it('refuses connections during a refuse outage, then accepts them again on the same port', async () => {
    let now = 0;
    const scenario = scenarioOf([
      ['healthy', 100],
      ['outage', 100, { outage: 'refuse' }],
      ['healthy', 0],
    ]);
    const service = await start({ scenario, now: () => now });
    const { port } = service;
    expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(201);

    now = 150;
    await phaseReached(service, (w) => w.outage === 'refuse');
    // The first request may still try the keep-alive socket the service dropped
    // (undici: UND_ERR_SOCKET "other side closed"); a fresh connection is refused.
    await failureCode(post(service, payloadOf('s0', 1, ['m2'])));
    expect(await failureCode(post(service, payloadOf('s0', 1, ['m2'])))).toBe('ECONNREFUSED');

    now = 250;
    await phaseReached(service, (w) => w.name === 'healthy' && w.startMs === 200);
    expect(service.port).toBe(port);
    expect((await post(service, payloadOf('s0', 1, ['m2']))).status).toBe(201);
    expect(storedIds(file)).toEqual([['m1'], ['m2']]);
  });

  it('refuses from the start when the first window refuses, with its port known', async () => {
    let now = 0;
    const scenario = scenarioOf([
      ['outage', 100, { outage: 'refuse' }],
      ['healthy', 0],
    ]);
    const service = await start({ scenario, now: () => now });
    expect(service.port).toBeGreaterThan(0);
    expect(await failureCode(post(service, payloadOf('s0', 0, ['m1'])))).toBe('ECONNREFUSED');
    now = 100;
    await phaseReached(service, (w) => w.name === 'healthy');
    expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(201);
  });

  it('commits a write whose client gave up: the retry gets 409', async () => {
    const scenario = scenarioOf([['healthy', 0, { latency: { medianMs: 60, sigma: 0 } }]]);
    let arrived: () => void = () => {};
    const arrival = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const service = await start({ scenario, onArrival: () => arrived() });
    const payload = payloadOf('s0', 0, ['m1', 'm2']);
    const controller = new AbortController();
    const abandoned = post(service, payload, { signal: controller.signal });
    await arrival;
    controller.abort();
    await expect(abandoned).rejects.toThrow(/abort/i);
    // Same latency, later arrival: the retry commits after the abandoned write has landed.
    const retry = await post(service, payload);
    expect(retry.status).toBe(409);
    expect(storedIds(file)).toEqual([['m1', 'm2']]);
  });

  it('answers 500 after the latency as often as the error rate says, storing nothing', async () => {
    const scenario = scenarioOf([['healthy', 0, { errorRate: 1 }]]);
    const service = await start({ scenario });
    const response = await post(service, payloadOf('s0', 0, ['m1']));
    expect(response.status).toBe(500);
    expect(service.counts().errors).toBe(1);
    expect(typeof (await response.json()).detail).toBe('string');
    expect(storedIds(file)).toEqual([]);
  });

  it('slows the cold start down, easing to 1, and eases a recovering window into the next', async () => {
    let now = 0;
    const delays: number[] = [];
    const scenario = scenarioOf(
      [
        ['recovery', 2_000, { latency: { medianMs: 20, sigma: 0 }, easesIntoNext: true }],
        ['healthy', 0, { latency: { medianMs: 10, sigma: 0 } }],
      ],
      { coldStartMs: 1_000, coldStartFactor: 4 },
    );
    const service = await start({
      scenario,
      now: () => now,
      onArrival: (write: ArrivedWrite) => delays.push(write.delayMs),
    });
    const at = async (t: number, id: string) => {
      now = t;
      expect((await post(service, payloadOf('s0', 0, [id]))).status).toBe(201);
    };
    await at(0, 'a'); // median 20, cold ×4
    await at(500, 'b'); // median 17.5, cold ×2.5
    await at(1_000, 'c'); // median 15, warm
    await at(3_000, 'd'); // healthy
    expect(delays).toEqual([80, 43.75, 15, 10]);
  });

  it('draws the same latencies for the same seed and request sequence', async () => {
    const latency = { medianMs: 2, sigma: 0.5 };
    const run = async (seed: number) => {
      const delays: number[] = [];
      const scenario = { ...scenarioOf([['healthy', 0, { latency }]]), seed };
      const seeded = path.join(dir, `seed-${seed}-${Math.random()}.jsonl`);
      seedStore(seeded);
      const service = await start({
        file: seeded,
        scenario,
        onArrival: (write) => delays.push(write.delayMs),
      });
      for (const id of ['a', 'b', 'a', 'c']) await post(service, payloadOf('s0', 0, [id]));
      return delays;
    };
    const first = await run(7);
    expect(first).toHaveLength(4);
    expect(new Set(first).size).toBe(4); // a retry of `a` draws anew
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
  });
});

describe('memory service: child process', () => {
  it('startServiceProcess starts, serves, reports phases and stops', async () => {
    const service = await startServiceProcess({ file, scenario: ALWAYS_HEALTHY });
    try {
      const first = new Promise<[PhaseWindow, number]>((resolve) => {
        service.onPhase((window, atMs) => resolve([window, atMs]));
      });
      expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
      expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(201);
      const [window, atMs] = await first;
      expect(window).toBe(ALWAYS_HEALTHY.windows[0]);
      expect(atMs).toBeGreaterThanOrEqual(0);
      expect(service.scenarioStart).toBeLessThanOrEqual(performance.now());
    } finally {
      await service.stop();
    }
    expect(service.child.exitCode).toBe(0);
    expect(storedIds(file)).toEqual([['m1']]);
  });

  it('the service exits when its parent is SIGKILLed', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', PARENT_FIXTURE, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.once('exit', (code) => reject(new Error(`the parent exited first (${code})`)));
    });
    try {
      expect(Number.isInteger(pid) && isAlive(pid)).toBe(true);
      parent.kill('SIGKILL');
      await exited;
      // A generous bound, not a timing assertion: an orphan would live forever.
      expect(await eventually(() => !isAlive(pid), 5_000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
