import { SyncWorkerError } from '../errors/SyncWorkerError.js';

/** The part of Web Crypto a random id needs; a browser page that is not a secure context lacks `randomUUID`. */
interface IdCrypto {
  randomUUID?: () => string;
  getRandomValues?: (bytes: Uint8Array) => Uint8Array;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A version 4 UUID from 16 random bytes (RFC 9562 §5.4), as `randomUUID` makes it. */
function uuidFrom(bytes: Uint8Array): string {
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40; // version 4
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80; // the RFC's variant
  let id = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) id += '-';
    id += HEX[bytes[i] as number];
  }
  return id;
}

/**
 * A random version 4 UUID for a durable task given no `id`. `crypto.randomUUID`
 * exists only in secure contexts (and Node); a page served over plain HTTP
 * has only `crypto.getRandomValues`, which makes the same kind of id. Looked
 * up at each call, so a polyfill installed after this module loads is used.
 *
 * @throws SyncWorkerError when neither exists: the task needs an `id` of its own.
 */
export function randomId(): string {
  const crypto = (globalThis as { crypto?: IdCrypto }).crypto;
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  if (typeof crypto?.getRandomValues === 'function') {
    return uuidFrom(crypto.getRandomValues(new Uint8Array(16)));
  }
  throw new SyncWorkerError(
    'xstate-sync-worker: this environment has neither crypto.randomUUID nor crypto.getRandomValues to make a durable task id; give the task an id',
  );
}
