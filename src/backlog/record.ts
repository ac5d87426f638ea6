import type { BacklogRecord, DeadLetter } from './types.js';

/** The stored format's version, written into every record so a future format can read old ones. */
export const RECORD_FORMAT = 1;

/** A record as stored: JSON, with `seq` kept in the store's key instead. */
export function encodeRecord(record: BacklogRecord | DeadLetter): string {
  // A literal, not a spread: this runs once per durable task on the write path.
  return JSON.stringify({
    v: RECORD_FORMAT,
    id: record.id,
    key: record.key,
    handler: record.handler,
    payload: record.payload,
    attempts: record.attempts,
    remoteFailures: record.remoteFailures,
    enqueuedAt: record.enqueuedAt,
    lastError: record.lastError,
    deadAt: (record as Partial<DeadLetter>).deadAt,
    reason: (record as Partial<DeadLetter>).reason,
  });
}

function field(
  object: Record<string, unknown>,
  name: string,
  type: 'string' | 'number',
): string | number {
  const value = object[name];
  if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) {
    throw new Error(`field "${name}" is missing or not a ${type}`);
  }
  return value as string | number;
}

/** Reads a stored record back; throws an `Error` saying what is wrong with it. */
export function decodeRecord(seq: number, text: string): BacklogRecord {
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('not a JSON object');
  }
  const o = parsed as Record<string, unknown>;
  if (o.v !== RECORD_FORMAT) throw new Error(`unknown record format ${String(o.v)}`);
  if (!('payload' in o)) throw new Error('field "payload" is missing');
  const record: BacklogRecord = {
    seq,
    id: field(o, 'id', 'string') as string,
    key: field(o, 'key', 'string') as string,
    handler: field(o, 'handler', 'string') as string,
    payload: o.payload as BacklogRecord['payload'],
    attempts: field(o, 'attempts', 'number') as number,
    enqueuedAt: field(o, 'enqueuedAt', 'number') as number,
  };
  if (typeof o.lastError === 'string') record.lastError = o.lastError;
  // Optional and additive, so format 1 readers that predate it ignore it safely.
  if (typeof o.remoteFailures === 'number' && Number.isFinite(o.remoteFailures)) {
    record.remoteFailures = o.remoteFailures;
  }
  return record;
}

/** Reads a stored dead letter back. */
export function decodeDeadLetter(seq: number, text: string): DeadLetter {
  const record = decodeRecord(seq, text);
  const o = JSON.parse(text) as Record<string, unknown>;
  return {
    ...record,
    deadAt: typeof o.deadAt === 'number' ? o.deadAt : 0,
    reason: typeof o.reason === 'string' ? o.reason : '',
  };
}

/** A dead letter for bytes that could not be decoded: the raw text is kept as its payload. */
export function corruptLetter(seq: number, key: string, raw: string, problem: string): DeadLetter {
  return {
    seq,
    id: `corrupt-${seq}`,
    key,
    handler: '',
    payload: raw,
    attempts: 0,
    enqueuedAt: 0,
    deadAt: Date.now(),
    reason: `stored record could not be read: ${problem}`,
  };
}

/** A fresh life for a requeued dead letter: same id, new place at the end of its key, no attempts. */
export function revive(letter: DeadLetter, seq: number): BacklogRecord {
  return {
    seq,
    id: letter.id,
    key: letter.key,
    handler: letter.handler,
    payload: letter.payload,
    attempts: 0,
    enqueuedAt: letter.enqueuedAt,
  };
}
