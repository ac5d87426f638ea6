/**
 * The end check's input: what the service holds, read back through the SDK
 * (`session.messages()`, paged), as a real Honcho server would be read. The
 * messages of each session, in the order Honcho lists them, are grouped into
 * turns by the `metadata` the handler wrote.
 */
import { Honcho, type Message } from '@honcho-ai/sdk';
import type { HonchoTarget } from './honchoConnection.js';
import { demoMetadataOf } from './honchoTypes.js';
import type { StoredWrite } from './types.js';

/** Honcho's largest page. */
const PAGE_SIZE = 100;

/** Consecutive messages of one task become one turn; a message without our metadata stands alone. */
export function turnsOf(session: string, messages: readonly Pick<Message, 'id' | 'metadata'>[]) {
  const turns: (StoredWrite & { task?: string })[] = [];
  for (const message of messages) {
    const meta = demoMetadataOf(message);
    const last = turns.at(-1);
    if (meta === undefined) {
      turns.push({ session, turn: -1, ids: [message.id] });
    } else if (last !== undefined && last.task === meta.task_id) {
      last.ids.push(meta.demo_id);
    } else {
      turns.push({ session, turn: meta.turn, ids: [meta.demo_id], task: meta.task_id });
    }
  }
  return turns.map(({ session: s, turn, ids }): StoredWrite => ({ session: s, turn, ids }));
}

/** Every listed turn of `sessions`, session by session, each in Honcho's order. */
export async function listStored(
  target: HonchoTarget,
  sessions: readonly string[],
): Promise<StoredWrite[]> {
  const honcho = new Honcho({ ...target, maxRetries: 2 });
  const writes: StoredWrite[] = [];
  for (const id of sessions) {
    const session = await honcho.session(id);
    const messages: Message[] = [];
    for await (const message of await session.messages({ size: PAGE_SIZE })) messages.push(message);
    writes.push(...turnsOf(id, messages));
  }
  return writes;
}
