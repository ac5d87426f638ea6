import { SyncWorkerError } from '../errors/SyncWorkerError.js';

/** The part of Web Crypto a random id needs. */
interface IdCrypto {
  randomUUID?: () => string;
  getRandomValues?: (bytes: Uint8Array) => Uint8Array;
}

const BYTES_PER_ID = 16;
/** Random bytes drawn at once: 256 ids per call to `getRandomValues`, as Node's own `randomUUID` caches them. */
const POOL_SIZE = 256 * BYTES_PER_ID;
/** Where each random byte's two hex digits go in the 36 characters of a UUID. */
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');
const DASH = 0x2d;

/**
 * Random bytes not yet used: each byte goes into one id only. `randomId`
 * alone reads and refills it; `next` is the first unused byte.
 */
const pool = { bytes: new Uint8Array(POOL_SIZE), next: POOL_SIZE };
/** The id being written, as ASCII: decoded once, it is one flat string (`randomUUID`'s is built from 20 pieces, which every later copy must join). */
const text = new Uint8Array(36);
text[8] = text[13] = text[18] = text[23] = DASH;
const ascii = new TextDecoder();

/** A version 4 UUID (RFC 9562 §5.4) from the next 16 bytes of the pool. */
function uuidFromPool(crypto: Required<Pick<IdCrypto, 'getRandomValues'>>): string {
  if (pool.next === POOL_SIZE) {
    crypto.getRandomValues(pool.bytes);
    pool.next = 0;
  }
  const bytes = pool.bytes;
  const at = pool.next;
  pool.next += BYTES_PER_ID;
  bytes[at + 6] = ((bytes[at + 6] as number) & 0x0f) | 0x40; // version 4
  bytes[at + 8] = ((bytes[at + 8] as number) & 0x3f) | 0x80; // the RFC's variant
  for (let i = 0; i < BYTES_PER_ID; i++) {
    const byte = bytes[at + i] as number;
    const digit = DIGIT_AT[i] as number;
    text[digit] = HEX_DIGITS[byte >> 4] as number;
    text[digit + 1] = HEX_DIGITS[byte & 0x0f] as number;
  }
  return ascii.decode(text);
}

/**
 * A random version 4 UUID for a durable task given no `id`, from
 * `crypto.getRandomValues` (in Node, browsers, Deno and Bun alike, secure
 * context or not), drawn 4 KiB at a time; `crypto.randomUUID` where only it
 * exists. Web Crypto is looked up at each call, so a polyfill installed after
 * this module loads is used.
 *
 * @throws SyncWorkerError when neither exists: the task needs an `id` of its own.
 */
export function randomId(): string {
  const crypto = (globalThis as { crypto?: IdCrypto }).crypto;
  if (typeof crypto?.getRandomValues === 'function') {
    return uuidFromPool(crypto as Required<Pick<IdCrypto, 'getRandomValues'>>);
  }
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  throw new SyncWorkerError(
    'xstate-sync-worker: this environment has neither crypto.getRandomValues nor crypto.randomUUID to make a durable task id; give the task an id',
  );
}
