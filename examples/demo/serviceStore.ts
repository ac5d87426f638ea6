/**
 * The memory service's store: an append-only JSONL file, one accepted write
 * per line, written synchronously so it survives the demo being killed.
 */
import fs from 'node:fs';
import type { StoredWrite } from './types.js';

function isStoredWrite(value: unknown): value is StoredWrite {
  const write = value as StoredWrite;
  return (
    typeof write === 'object' &&
    write !== null &&
    typeof write.session === 'string' &&
    Number.isInteger(write.turn) &&
    Array.isArray(write.ids) &&
    write.ids.every((id) => typeof id === 'string') &&
    typeof write.storedAt === 'number'
  );
}

function parseLine(line: string): StoredWrite | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isStoredWrite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The store's complete lines and its unterminated tail (empty when the file ends with a newline). */
function splitStore(content: Buffer): { lines: string[]; tail: string; tailStart: number } {
  const tailStart = content.lastIndexOf(0x0a) + 1;
  const complete = content.subarray(0, tailStart).toString('utf8');
  const lines = complete.split('\n').filter((line) => line !== '');
  return { lines, tail: content.subarray(tailStart).toString('utf8'), tailStart };
}

function parseLines(file: string, lines: readonly string[]): StoredWrite[] {
  return lines.map((line, i) => {
    const write = parseLine(line);
    // Only the last line can be torn by a crash; damage anywhere else is not ours to hide.
    if (write === undefined)
      throw new Error(`${file}:${i + 1}: not a stored write: ${line.slice(0, 80)}`);
    return write;
  });
}

/**
 * The store's writes in append order. A torn final line (a write cut short by
 * a crash, never acknowledged) is ignored; an unparsable line elsewhere
 * throws. A missing file holds nothing.
 */
export function readStore(file: string): StoredWrite[] {
  const content = readIfPresent(file);
  if (content === undefined) return [];
  const { lines, tail } = splitStore(content);
  const writes = parseLines(file, lines);
  const last = tail === '' ? undefined : parseLine(tail);
  return last === undefined ? writes : [...writes, last];
}

/**
 * Opens the store for appending and returns the message ids it holds. A
 * complete but unterminated last line gets its newline; a torn one is cut
 * off, so the next line starts clean and no reader meets the torn bytes
 * again.
 */
export function openStore(file: string): Set<string> {
  const content = readIfPresent(file);
  if (content === undefined) {
    fs.appendFileSync(file, '');
    return new Set();
  }
  const writes = readStore(file);
  const { tail, tailStart } = splitStore(content);
  if (tail !== '') {
    if (parseLine(tail) === undefined) fs.truncateSync(file, tailStart);
    else fs.appendFileSync(file, '\n');
  }
  return new Set(writes.flatMap((write) => write.ids));
}
