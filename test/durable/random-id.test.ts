/**
 * A durable task without an id gets a random UUID, made from
 * `crypto.getRandomValues` drawn 4 KiB (256 ids) at a time; where only
 * `crypto.randomUUID` exists, from it. These tests replace Web Crypto.
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
  it('version 4 UUIDs from getRandomValues, 4 KiB drawn at a time, all different', async () => {
    const draws: number[] = [];
    vi.stubGlobal('crypto', {
      getRandomValues: (bytes: Uint8Array) => {
        draws.push(bytes.length);
        return webcrypto.getRandomValues(bytes);
      },
      randomUUID: () => 'not-this-one',
    });
    const { worker, remote } = durableWorker({ maxQueue: 1_000 });
    for (let i = 0; i < 500; i++) worker.enqueue({ handler: 'write', payload: i });
    await worker.flush();
    await worker.onIdle();
    const ids = remote.delivered.map((call) => call.id);
    expect(ids).toHaveLength(500);
    expect(new Set(ids).size).toBe(500);
    for (const id of ids) expect(id).toMatch(UUID_V4);
    // 500 ids take 8,000 bytes: two draws, or three if an earlier test left the pool part used.
    expect(draws.length).toBeGreaterThanOrEqual(2);
    expect(draws.length).toBeLessThanOrEqual(3);
    for (const size of draws) expect(size).toBe(4_096);
    await worker.shutdown();
  });

  it('with crypto.randomUUID alone: its ids', async () => {
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

  it('each random byte goes into one id only: every 16 drawn bytes make one id', async () => {
    // Each 16-byte block of a draw says which block it is, then a marker: an id shows which bytes it used.
    let block = 0;
    vi.stubGlobal('crypto', {
      getRandomValues: (bytes: Uint8Array) => {
        for (let at = 0; at < bytes.length; at += 16, block++) {
          bytes.fill(0xaa, at, at + 16);
          bytes[at] = block >> 8;
          bytes[at + 1] = block & 0xff;
        }
        return bytes;
      },
    });
    const { worker, remote } = durableWorker({ maxQueue: 1_000 });
    for (let i = 0; i < 600; i++) worker.enqueue({ handler: 'write', payload: i });
    await worker.flush();
    await worker.onIdle();
    const ids = remote.delivered.map((call) => call.id);
    for (const id of ids) expect(id).toMatch(UUID_V4);
    // Ids made before this test's first draw came from bytes an earlier test drew.
    const used = ids
      .filter((id) => id.slice(4, 8) === 'aaaa')
      .map((id) => Number.parseInt(id.slice(0, 4), 16));
    expect(used.length).toBeGreaterThan(600 - 256);
    expect(used).toEqual(Array.from(used, (_, i) => i));
    expect(ids[ids.length - used.length]).toBe('0000aaaa-aaaa-4aaa-aaaa-aaaaaaaaaaaa');
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
