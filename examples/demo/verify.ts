/**
 * The end check, made against the memory service's own listing: every
 * message arrived exactly once, and each session's turns arrived in order.
 * Against a real Honcho server, which has no idempotency key, a retry after a
 * lost answer stores a second copy: there, copies are counted, not failed.
 */
import type { StoredWrite } from './types.js';

/** What the store must hold. */
export interface Expectation {
  /** Task ids that must have arrived: all produced ones, or, after a kill, those whose `flush()` resolved. */
  required: ReadonlySet<string>;
  /** Whether a task id belongs to this run at all (anything else in the store is unexpected). */
  isKnown: (session: string, turn: number) => boolean;
  /** Turn id of a session and turn, as the producer names them. */
  turnId: (session: string, turn: number) => string;
  /**
   * `fail` (the local service, which refuses duplicates): a second copy fails
   * the check. `count` (a real Honcho server): copies are counted, and the
   * order is checked on each message's first copy.
   */
  duplicates?: 'fail' | 'count';
}

/** The check's result: `ok`, and one line per finding (or the good news). */
export interface Verdict {
  ok: boolean;
  lines: string[];
  /** Turns stored, and messages stored. */
  turns: number;
  messages: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

/** The writes with each message's later copies left out (a write left empty goes). */
function firstCopies(writes: readonly StoredWrite[]): StoredWrite[] {
  const seen = new Set<string>();
  const kept: StoredWrite[] = [];
  for (const write of writes) {
    const ids = write.ids.filter((id) => !seen.has(id));
    for (const id of ids) seen.add(id);
    if (ids.length > 0) kept.push({ ...write, ids });
  }
  return kept;
}

const SHOWN = 5;

function sample(items: readonly string[]): string {
  const shown = items.slice(0, SHOWN).join(', ');
  return items.length > SHOWN ? `${shown} and ${items.length - SHOWN} more` : shown;
}

/** Message ids stored more than once. */
function duplicateIds(writes: readonly StoredWrite[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const write of writes) {
    for (const id of write.ids) (seen.has(id) ? twice : seen).add(id);
  }
  return [...twice];
}

/** Sessions whose turns did not arrive as 0, 1, 2, … in the store's order, with the first bad step. */
function misorderedSessions(writes: readonly StoredWrite[]): string[] {
  const nextTurn = new Map<string, number>();
  const broken = new Map<string, string>();
  for (const { session, turn } of writes) {
    const expected = nextTurn.get(session) ?? 0;
    if (turn !== expected && !broken.has(session)) {
      broken.set(session, `${session}: turn ${turn} arrived when turn ${expected} was next`);
    }
    nextTurn.set(session, Math.max(expected, turn + 1));
  }
  return [...broken.values()];
}

/** Checks the store's writes against what the run produced. */
export function verifyDelivery(writes: readonly StoredWrite[], expect: Expectation): Verdict {
  const stored = new Set(writes.map((w) => expect.turnId(w.session, w.turn)));
  const lost = [...expect.required].filter((id) => !stored.has(id)).sort();
  const duplicated = duplicateIds(writes);
  const counting = expect.duplicates === 'count';
  const reordered = misorderedSessions(counting ? firstCopies(writes) : writes);
  const unexpected = writes
    .filter((w) => !expect.isKnown(w.session, w.turn))
    .map((w) => expect.turnId(w.session, w.turn));
  const messages = writes.reduce((sum, w) => sum + w.ids.length, 0);
  const lines: string[] = [];
  if (lost.length > 0) lines.push(`LOST ${lost.length} turn(s): ${sample(lost)}`);
  if (duplicated.length > 0 && !counting) {
    lines.push(`DUPLICATED ${duplicated.length} message(s): ${sample(duplicated)}`);
  }
  if (reordered.length > 0) {
    lines.push(`OUT OF ORDER in ${reordered.length} session(s): ${sample(reordered)}`);
  }
  if (unexpected.length > 0) {
    lines.push(
      `UNEXPECTED ${unexpected.length} write(s) not produced by this run: ${sample(unexpected)}`,
    );
  }
  const ok = lines.length === 0;
  if (ok && counting) {
    lines.push(
      `all ${expect.required.size} required turns (${stored.size} turns stored) arrived, each session in order; ${duplicated.length} message(s) stored more than once (Honcho has no idempotency key)`,
    );
  } else if (ok) {
    lines.push(
      `all ${expect.required.size} required turns (${messages} messages in ${stored.size} turns stored) arrived exactly once, each session in order`,
    );
  }
  return {
    ok,
    lines,
    turns: stored.size,
    messages,
    lost: lost.length,
    duplicated: duplicated.length,
    reordered: reordered.length,
  };
}
