/**
 * The memory service's store: an append-only JSONL file, one line per
 * workspace or session created and per accepted batch of messages, written
 * synchronously so it survives the demo being killed.
 */
import fs from 'node:fs';
import type { HonchoMessage, HonchoSession, HonchoWorkspace } from './honchoTypes.js';

/** A line of the store. */
export type StoreLine =
  | { kind: 'workspace'; workspace: HonchoWorkspace }
  | { kind: 'session'; session: HonchoSession }
  | { kind: 'messages'; workspace: string; session: string; messages: HonchoMessage[] };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

function isStoreLine(value: unknown): value is StoreLine {
  if (!isObject(value)) return false;
  if (value.kind === 'workspace') return isObject(value.workspace);
  if (value.kind === 'session') return isObject(value.session);
  return (
    value.kind === 'messages' &&
    typeof value.workspace === 'string' &&
    typeof value.session === 'string' &&
    Array.isArray(value.messages) &&
    value.messages.every((m) => isObject(m) && typeof m.id === 'string')
  );
}

function parseLine(line: string): StoreLine | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isStoreLine(value) ? value : undefined;
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

function parseLines(file: string, lines: readonly string[]): StoreLine[] {
  return lines.map((line, i) => {
    const parsed = parseLine(line);
    // Only the last line can be torn by a crash; damage anywhere else is not ours to hide.
    if (parsed === undefined) {
      throw new Error(`${file}:${i + 1}: not a store line: ${line.slice(0, 80)}`);
    }
    return parsed;
  });
}

/**
 * The store's lines in append order. A torn final line (a write cut short by
 * a crash, never acknowledged) is ignored; an unparsable line elsewhere
 * throws. A missing file holds nothing.
 */
export function readStore(file: string): StoreLine[] {
  const content = readIfPresent(file);
  if (content === undefined) return [];
  const { lines, tail } = splitStore(content);
  const parsed = parseLines(file, lines);
  const last = tail === '' ? undefined : parseLine(tail);
  return last === undefined ? parsed : [...parsed, last];
}

/**
 * Opens the store for appending and returns its lines. A complete but
 * unterminated last line gets its newline; a torn one is cut off, so the next
 * line starts clean and no reader meets the torn bytes again.
 */
export function openStore(file: string): StoreLine[] {
  const content = readIfPresent(file);
  if (content === undefined) {
    fs.appendFileSync(file, '');
    return [];
  }
  const lines = readStore(file);
  const { tail, tailStart } = splitStore(content);
  if (tail !== '') {
    if (parseLine(tail) === undefined) fs.truncateSync(file, tailStart);
    else fs.appendFileSync(file, '\n');
  }
  return lines;
}

/** Appends one line; synchronous, so an acknowledged write is on disk even if the demo is SIGKILLed next. */
export function appendLine(file: string, line: StoreLine): void {
  fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
}
