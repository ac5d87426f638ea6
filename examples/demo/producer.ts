/**
 * The application side: conversations whose turns arrive at the pace of chat
 * traffic. Each turn becomes one durable `memory.addMessages` task, keyed by
 * its session, so the worker delivers each conversation in order.
 */
import { hashSeed, mulberry32 } from './random.js';
import type { AddMessagesPayload } from './types.js';

/** The handler name the producer's tasks use. */
export const ADD_MESSAGES = 'memory.addMessages';

/** One turn due at `atMs` after the producer starts. */
export interface PlannedTurn {
  atMs: number;
  payload: AddMessagesPayload;
  /** The task's id, kept across retries: the session and turn. */
  id: string;
}

const USER_LINES = [
  'Can you remind me what we decided about the launch date?',
  'I prefer window seats, by the way.',
  'Summarise the last three emails from Dana.',
  'My daughter is allergic to peanuts.',
  'What was the name of that ramen place?',
  'Move my dentist appointment to Thursday.',
  'I am learning Portuguese this year.',
  'Draft a reply saying I will be late.',
];
const ASSISTANT_LINES = [
  'Noted. I will keep that in mind.',
  'Done. Anything else?',
  'Here is a short summary.',
  'Got it: saved to your preferences.',
  'I have updated the calendar.',
  'Sure, here is a draft.',
];

/** `s07`: the session's name, zero-padded so they sort. */
export function sessionName(index: number, sessions: number): string {
  return `s${String(index).padStart(String(sessions - 1).length, '0')}`;
}

/** `s07-t012`: a turn's task id. Its messages are `<id>-u` (user) and `<id>-a` (assistant). */
export function turnId(session: string, turn: number): string {
  return `${session}-t${String(turn).padStart(3, '0')}`;
}

function payloadOf(session: string, turn: number, pick: () => number): AddMessagesPayload {
  const id = turnId(session, turn);
  const line = (lines: readonly string[]) => lines[Math.floor(pick() * lines.length)] as string;
  return {
    session,
    turn,
    messages: [
      { id: `${id}-u`, session, turn, role: 'user', text: line(USER_LINES) },
      { id: `${id}-a`, session, turn, role: 'assistant', text: line(ASSISTANT_LINES) },
    ],
  };
}

/**
 * Plans every turn of every session over `spanMs`: each session starts within
 * the first tenth and then speaks every `spanMs·0.9/turns` on average, with
 * jitter, as people do. Seeded, so the same seed plans the same traffic.
 */
export function planConversations(
  sessions: number,
  turns: number,
  spanMs: number,
  seed: number,
): PlannedTurn[] {
  const plan: PlannedTurn[] = [];
  const gap = (spanMs * 0.9) / turns;
  for (let s = 0; s < sessions; s++) {
    const session = sessionName(s, sessions);
    const random = mulberry32(hashSeed(seed, session));
    let at = random() * spanMs * 0.1;
    for (let turn = 0; turn < turns; turn++) {
      plan.push({ atMs: at, id: turnId(session, turn), payload: payloadOf(session, turn, random) });
      at += gap * (0.4 + random() * 1.2);
    }
  }
  return plan.sort((a, b) => a.atMs - b.atMs);
}

/** Plays a plan in real time, calling `send` for each turn when it is due. */
export class Producer {
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private finished: () => void = () => {};
  /** Resolves when every planned turn has been sent (or `stop()` was called). */
  readonly done: Promise<void>;

  constructor(
    private readonly plan: readonly PlannedTurn[],
    private readonly send: (turn: PlannedTurn) => void,
  ) {
    this.done = new Promise((resolve) => {
      this.finished = resolve;
    });
  }

  /** How many turns were sent. */
  get sent(): number {
    return this.next;
  }

  start(): void {
    this.startedAt = performance.now();
    this.tick();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.finished();
  }

  private readonly tick = (): void => {
    const elapsed = performance.now() - this.startedAt;
    for (
      let turn = this.plan[this.next];
      turn && turn.atMs <= elapsed;
      turn = this.plan[this.next]
    ) {
      this.next++;
      this.send(turn);
    }
    const upcoming = this.plan[this.next];
    if (upcoming === undefined) {
      this.stop();
      return;
    }
    this.timer = setTimeout(this.tick, Math.max(0, upcoming.atMs - elapsed));
  };
}
