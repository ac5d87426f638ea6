import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BacklogRecord,
  type DeadLetter,
  encodeRecord,
  memoryBacklog,
  SyncWorker,
} from '../../src/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { tempDirs } from '../support/temp-dirs.js';

const hooks = { onCorrupt() {}, onWriteError() {} };
const tempDir = tempDirs('xsw-once-');

/** What encodeRecord wrote before it was built by hand: JSON.stringify of the stored fields. */
function stringified(record: BacklogRecord | DeadLetter): string {
  const letter = record as Partial<DeadLetter>;
  return JSON.stringify({
    v: 1,
    id: record.id,
    key: record.key,
    handler: record.handler,
    payload: record.payload,
    attempts: record.attempts,
    remoteFailures: record.remoteFailures,
    enqueuedAt: record.enqueuedAt,
    lastError: record.lastError,
    deadAt: letter.deadAt,
    reason: letter.reason,
  });
}

const base: BacklogRecord = {
  seq: 3,
  id: 'id "quoted" \\ \u2028',
  key: 'k\n1',
  handler: 'write',
  payload: { text: 'é\u0000', list: [1, -0, 1e21, null, true], nested: { a: {} } },
  attempts: 2,
  enqueuedAt: 1_700_000_000_123,
};

describe('a durable payload is serialized once', () => {
  const cases: [string, BacklogRecord | DeadLetter][] = [
    ['a fresh record', base],
    ['a retried one', { ...base, lastError: 'boom "x"', remoteFailures: 1 }],
    ['a dead letter', { ...base, deadAt: 5, reason: 'gave up\ttoday' }],
    ['a scalar payload', { ...base, payload: 'just text' }],
    ['a null payload', { ...base, payload: null }],
  ];
  for (const [name, record] of cases) {
    it(`encodeRecord writes the text JSON.stringify would, with or without the payload's text: ${name}`, () => {
      const expected = stringified(record);
      expect(encodeRecord(record)).toBe(expected);
      expect(encodeRecord(record, JSON.stringify(record.payload))).toBe(expected);
    });
  }

  it('encodeRecord writes what JSON.stringify would for any text in its string fields', () => {
    // Any UTF-16 code unit, with what JSON escapes (and what it leaves) made common enough to meet alone.
    const unit = fc.oneof(
      fc.constantFrom(
        '"',
        '\\',
        '\n',
        '\u0000',
        '\u001f',
        ' ',
        '\u007f',
        '\u2028',
        '\ud800',
        '\udfff',
        'é',
      ),
      fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    );
    const text = fc.string({ unit, maxLength: 12 });
    fc.assert(
      fc.property(text, text, text, text, text, (id, key, handler, lastError, reason) => {
        const letter: DeadLetter = { ...base, id, key, handler, lastError, deadAt: 5, reason };
        expect(encodeRecord(letter)).toBe(stringified(letter));
        expect(encodeRecord({ ...base, id, key, handler })).toBe(
          stringified({ ...base, id, key, handler }),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('lmdbBacklog writes the payload text it is given as it is, without serializing the payload again', async () => {
    const store = lmdbBacklog({ path: tempDir() });
    store.open(hooks);
    // Equal data, different spelling: only a store that used the text keeps the spaces.
    await store.append([base], ['{ "text" : "as given" }']);
    const raw = (store as unknown as { raw: { tasks: { get(k: unknown): string } } }).raw;
    expect(raw.tasks.get([base.key, base.seq])).toContain('"payload":{ "text" : "as given" }');
    await store.close();
  });

  it('the worker writes the text it made when it checked the payload, and delivers a copy', async () => {
    const path = tempDir();
    const delivered: unknown[] = [];
    const worker = new SyncWorker({
      backlog: lmdbBacklog({ path }),
      handlers: { write: (payload: unknown) => void delivered.push(payload) },
    });
    const payload = { n: 1, tags: ['a'] };
    worker.enqueue({ handler: 'write', payload, key: 'k' });
    // Changed after enqueue returned: neither the store nor the handler may see it.
    payload.n = 2;
    payload.tags.push('b');
    await worker.flush();
    await worker.onIdle();
    await worker.shutdown();
    expect(delivered).toEqual([{ n: 1, tags: ['a'] }]);
    expect(delivered[0]).not.toBe(payload);
  });

  it('a memory store keeps what was accepted too', async () => {
    const store = memoryBacklog();
    const worker = new SyncWorker({
      backlog: store,
      handlers: { write: () => {} },
      breaker: { failureThreshold: 1, probeIntervalMs: 3_600_000 },
    });
    worker.breaker?.recordFailure();
    const payload = { n: 1 };
    worker.enqueue({ handler: 'write', payload, key: 'k' });
    payload.n = 2;
    await worker.flush();
    expect(store.list().map((record) => record.payload)).toEqual([{ n: 1 }]);
    await worker.shutdown();
  });
});
