/** The README's HTTP probe recipe (examples/health/probe.ts), on a real server on 127.0.0.1. */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { healthProbe } from '../examples/health/probe.js';
import type { SyncWorker } from '../src/index.js';
import { controlledTask } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

const servers: ReturnType<typeof healthProbe>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** Serves the probe for `worker` on an ephemeral loopback port; returns a GET of a path. */
async function probe(worker: SyncWorker) {
  const server = healthProbe(worker);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  };
}

describe('the HTTP probe recipe', () => {
  it('is alive and ready while ok and while degraded; not ready while stopping; not alive once shut down', async () => {
    const { worker } = simulatedWorker({ breaker: { failureThreshold: 1 } });
    const get = await probe(worker);
    expect(await get('/livez')).toMatchObject({ status: 200 });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ok', reasons: [] });

    worker.enqueue({ run: () => Promise.reject(new Error('down')) });
    await worker.onIdle();
    const degraded = await get('/readyz');
    expect(degraded.status).toBe(200);
    expect(JSON.parse(degraded.body)).toMatchObject({
      status: 'degraded',
      reasons: [{ kind: 'breakerOpen' }],
    });
    expect((await get('/livez')).status).toBe(200);

    worker.breaker?.reset();
    const running = controlledTask();
    worker.enqueue(running.task);
    await running.started;
    const stopped = worker.shutdown({ timeoutMs: 1_000 });
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/livez')).status).toBe(200);
    running.resolve('done');
    await stopped;
    expect((await get('/livez')).status).toBe(503);
    expect((await get('/nowhere')).status).toBe(404);
  });
});
