import type { JsonValue } from './json.js';
import type { BacklogRecord, DeadLetter } from './types.js';

/** The stored format's version, written into every record so a future format can read old ones. */
export const RECORD_FORMAT = 1;

/**
 * A record as stored: JSON, with `seq` kept in the store's key instead.
 * `payloadJson`, when given, must be `JSON.stringify(record.payload)`: it is
 * put in as it is, so a payload serialized once when it was accepted is not
 * serialized again. The text is the same either way.
 */
export function encodeRecord(record: BacklogRecord | DeadLetter, payloadJson?: string): string {
  const letter = record as Partial<DeadLetter>;
  // Built by hand, in JSON.stringify's order and with its rules (undefined
  // fields left out): this runs once per durable task on the write path.
  let text = `{"v":${RECORD_FORMAT},"id":${quoted(record.id)},"key":${quoted(record.key)},"handler":${quoted(record.handler)},"payload":${payloadJson ?? JSON.stringify(record.payload)},"attempts":${number(record.attempts)}`;
  if (record.remoteFailures !== undefined)
    text += `,"remoteFailures":${number(record.remoteFailures)}`;
  text += `,"enqueuedAt":${number(record.enqueuedAt)}`;
  if (record.lastError !== undefined) text += `,"lastError":${quoted(record.lastError)}`;
  if (letter.deadAt !== undefined) text += `,"deadAt":${number(letter.deadAt)}`;
  if (letter.reason !== undefined) text += `,"reason":${quoted(letter.reason)}`;
  return `${text}}`;
}

// What JSON.stringify escapes in a string: a quote, a backslash, control characters and lone
// surrogates (any surrogate here, so a pair also takes the slow, still correct, path).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(value)` for a string. Ids, keys and handler names seldom
 * hold anything to escape, and putting them in quotes is a fraction of the
 * cost of a call to `JSON.stringify` (about 80 ns each, three per record).
 */
function quoted(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** A number as JSON writes it: a finite one as itself, anything else (NaN, Infinity) as `null`. */
function number(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * `record` holding its own copy of its payload, parsed from `payloadJson`
 * (the text made when the task was accepted) when given: until then a new
 * record holds the caller's value, which the caller may change. Only records
 * kept in memory need one; the store has the text.
 */
export function ownPayload(record: BacklogRecord, payloadJson: string | undefined): BacklogRecord {
  if (payloadJson !== undefined)
    (record as { payload: JsonValue }).payload = JSON.parse(payloadJson);
  return record;
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
