/**
 * A durable task without an id gets a random UUID. A browser page that is not
 * a secure context has `crypto.getRandomValues` but no `crypto.randomUUID`;
 * these tests take `randomUUID` (and then all of Web Crypto) away.
 */
import { webcrypto } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SyncWorkerError } from '../../src/index.js';
import { durableWorker } from '../support/durable.js';
import { settled } from '../support/tasks.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('ids of durable tasks given none', () => {
  it('without crypto.randomUUID: version 4 UUIDs from getRandomValues, all different', async () => {
    let drawn = 0;
    vi.stubGlobal('crypto', {
      getRandomValues: (bytes: Uint8Array) => {
        drawn++;
        return webcrypto.getRandomValues(bytes);
      },
    });
    const { worker, remote } = durableWorker({ maxQueue: 1_000 });
    for (let i = 0; i < 500; i++) worker.enqueue({ handler: 'write', payload: i });
    await worker.flush();
    await worker.onIdle();
    const ids = remote.delivered.map((call) => call.id);
    expect(ids).toHaveLength(500);
    expect(new Set(ids).size).toBe(500);
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(drawn).toBe(500);
    await worker.shutdown();
  });

  it('with crypto.randomUUID: its ids', async () => {
    vi.stubGlobal('crypto', { randomUUID: () => 'from-randomUUID' });
    const { worker, remote } = durableWorker();
    worker.enqueue({ handler: 'write', payload: 1 });
    await worker.onIdle();
    expect(remote.delivered.map((call) => call.id)).toEqual(['from-randomUUID']);
    await worker.shutdown();
  });

  it('without Web Crypto: a clear error naming the library, and a task with an id still works', async () => {
    vi.stubGlobal('crypto', undefined);
    const { worker, remote } = durableWorker();
    let thrown: unknown;
    try {
      worker.enqueue({ handler: 'write', payload: 1 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SyncWorkerError);
    expect((thrown as Error).message).toMatch(/^xstate-sync-worker: .*give the task an id$/);
    expect(worker.stats().backlog).toBe(0);
    expect(worker.enqueue({ handler: 'write', payload: 2, id: 'mine' })).toBe(true);
    await settled();
    await worker.onIdle();
    expect(remote.delivered.map((call) => call.id)).toEqual(['mine']);
    await worker.shutdown();
  });

  it("two tasks given the same id are both kept and delivered: ids are the producer's to keep unique", async () => {
    const { worker, remote } = durableWorker();
    worker.enqueue({ handler: 'write', payload: 'first', id: 'same' });
    worker.enqueue({ handler: 'write', payload: 'second', id: 'same' });
    await worker.flush();
    await worker.onIdle();
    expect(remote.delivered.map((call) => [call.id, call.payload])).toEqual([
      ['same', 'first'],
      ['same', 'second'],
    ]);
    await worker.shutdown();
  });
});
