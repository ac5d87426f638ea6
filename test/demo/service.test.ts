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
import { readStore } from '../../examples/demo/serviceStore.js';
import type { AddMessagesPayload, PhaseWindow, Scenario } from '../../examples/demo/types.js';
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

function payloadOf(session: string, turn: number, ids: string[]): AddMessagesPayload {
  return {
    session,
    turn,
    messages: ids.map((id, i) => ({
      id,
      session,
      turn,
      role: i % 2 === 0 ? 'user' : 'assistant',
      text: `message ${id}`,
    })),
  };
}

function post(
  service: { url: string },
  body: unknown,
  { session = 's0', signal }: { session?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${service.url}/v1/sessions/${session}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
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
});

afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('memory service: the store', () => {
  it('stores a write (201), then refuses it again as a duplicate (409)', async () => {
    const service = await start();
    const payload = payloadOf('s0', 0, ['s0-t000-u', 's0-t000-a']);
    const first = await post(service, payload);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ stored: 2 });
    const again = await post(service, payload);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ duplicate: ['s0-t000-u', 's0-t000-a'] });
    expect(service.counts()).toMatchObject({ stored: 1, duplicates: 1 });
    expect(readStore(file)).toHaveLength(1);
  });

  it('answers 422 to a write that is only partly stored, and stores nothing of it', async () => {
    const service = await start();
    expect((await post(service, payloadOf('s0', 0, ['a', 'b']))).status).toBe(201);
    const overlap = await post(service, payloadOf('s0', 0, ['b', 'c']));
    expect(overlap.status).toBe(422);
    expect((await overlap.json()).error).toMatch(/b/);
    expect(readStore(file).map((w) => w.ids)).toEqual([['a', 'b']]);
  });

  it('answers 400 with a JSON error to a bad body, and stores nothing', async () => {
    const service = await start();
    const message = payloadOf('s0', 0, ['x']).messages[0];
    const bodies: unknown[] = [
      '{not json',
      [],
      payloadOf('other', 0, ['x']),
      { session: 's0', turn: 0, messages: [] },
      { session: 's0', turn: 0, messages: [{ ...message, id: 42 }] },
      { session: 's0', turn: -1, messages: [message] },
      payloadOf('s0', 0, ['x', 'x']),
    ];
    for (const body of bodies) {
      const response = await post(service, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(typeof (await response.json()).error).toBe('string');
    }
    expect(service.counts().badRequests).toBe(bodies.length);
    expect(readStore(file)).toEqual([]);
  });

  it('answers 404 to an unknown route, 405 to a wrong method, 200 to a health check', async () => {
    const service = await start();
    expect((await fetch(`${service.url}/v1/nothing`)).status).toBe(404);
    const wrong = await fetch(`${service.url}/v1/sessions/s0/messages`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    const health = await fetch(`${service.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ phase: 'healthy' });
  });

  it('keeps deduplicating after a restart over the same file', async () => {
    const before = await start();
    expect((await post(before, payloadOf('s0', 0, ['m1']))).status).toBe(201);
    await before.close();
    const after = await start();
    expect((await post(after, payloadOf('s0', 0, ['m1']))).status).toBe(409);
    expect((await post(after, payloadOf('s0', 1, ['m2']))).status).toBe(201);
    expect(readStore(file).map((w) => w.ids)).toEqual([['m1'], ['m2']]);
  });

  it('tolerates a torn last line: ignores it, and the next write starts a clean line', async () => {
    const stored = { session: 's0', turn: 0, ids: ['m1'], storedAt: 1 };
    fs.writeFileSync(file, `${JSON.stringify(stored)}\n{"session":"s0","turn":1,"ids":["m2`);
    expect(readStore(file)).toEqual([stored]);
    const service = await start();
    expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(409);
    expect((await post(service, payloadOf('s0', 1, ['m2']))).status).toBe(201);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((line) => JSON.parse(line).ids)).toEqual([['m1'], ['m2']]);
  });

  it('re-terminates a complete last line that lost only its newline', async () => {
    const stored = { session: 's0', turn: 0, ids: ['m1'], storedAt: 1 };
    fs.writeFileSync(file, JSON.stringify(stored));
    const service = await start();
    expect((await post(service, payloadOf('s0', 0, ['m1']))).status).toBe(409);
    expect((await post(service, payloadOf('s0', 1, ['m2']))).status).toBe(201);
    expect(readStore(file).map((w) => w.ids)).toEqual([['m1'], ['m2']]);
  });

  it('readStore returns the writes in append order, and throws on damage before the end', async () => {
    const service = await start();
    for (const turn of [0, 1, 2]) {
      expect(
        (await post(service, payloadOf('s0', turn, [`t${turn}-u`, `t${turn}-a`]))).status,
      ).toBe(201);
    }
    const writes = readStore(file);
    expect(writes.map((w) => [w.session, w.turn, w.ids])).toEqual([
      ['s0', 0, ['t0-u', 't0-a']],
      ['s0', 1, ['t1-u', 't1-a']],
      ['s0', 2, ['t2-u', 't2-a']],
    ]);
    for (const write of writes) expect(typeof write.storedAt).toBe('number');
    expect(readStore(path.join(dir, 'missing.jsonl'))).toEqual([]);
    fs.writeFileSync(file, `garbage\n${JSON.stringify(writes[0])}\n`);
    expect(() => readStore(file)).toThrow(/:1: not a stored write/);
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
    expect((await fetch(`${service.url}/v1/health`)).status).toBe(503);
    expect(service.counts()).toMatchObject({ stored: 1, unavailable: 2 });
    expect(readStore(file)).toHaveLength(1);
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
    expect(readStore(file).map((w) => w.ids)).toEqual([['m1'], ['m2']]);
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
    expect(readStore(file).map((w) => w.ids)).toEqual([['m1', 'm2']]);
  });

  it('answers 500 after the latency as often as the error rate says, storing nothing', async () => {
    const scenario = scenarioOf([['healthy', 0, { errorRate: 1 }]]);
    const service = await start({ scenario });
    const response = await post(service, payloadOf('s0', 0, ['m1']));
    expect(response.status).toBe(500);
    expect(service.counts().errors).toBe(1);
    expect(readStore(file)).toEqual([]);
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
      const service = await start({
        file: path.join(dir, `seed-${seed}-${Math.random()}.jsonl`),
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
    expect(readStore(file).map((w) => w.ids)).toEqual([['m1']]);
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
