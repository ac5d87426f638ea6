/**
 * The end check, made against the memory service's own store: every message
 * arrived exactly once, and each session's turns arrived in order.
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
  const reordered = misorderedSessions(writes);
  const unexpected = writes
    .filter((w) => !expect.isKnown(w.session, w.turn))
    .map((w) => expect.turnId(w.session, w.turn));
  const messages = writes.reduce((sum, w) => sum + w.ids.length, 0);
  const lines: string[] = [];
  if (lost.length > 0) lines.push(`LOST ${lost.length} turn(s): ${sample(lost)}`);
  if (duplicated.length > 0) {
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
  if (ok) {
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
