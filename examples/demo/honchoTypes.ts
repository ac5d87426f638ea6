/**
 * The shapes of the subset of Honcho's v3 API the demo speaks (the SDK sends
 * and expects these), and the metadata the demo puts on each message.
 */

/** `POST /v3/workspaces` and `POST /v3/workspaces/{ws}/sessions` answer these. */
export interface HonchoWorkspace {
  id: string;
  metadata: Record<string, unknown>;
  configuration: Record<string, unknown>;
  created_at: string;
}

/** A session of a workspace. */
export interface HonchoSession {
  id: string;
  workspace_id: string;
  is_active: boolean;
  metadata: Record<string, unknown>;
  configuration: Record<string, unknown>;
  created_at: string;
}

/** One stored message, as created and as listed. */
export interface HonchoMessage {
  id: string;
  content: string;
  peer_id: string;
  session_id: string;
  workspace_id: string;
  metadata: Record<string, unknown>;
  created_at: string;
  token_count: number;
}

/** One message of `POST …/messages`, as the SDK sends it. */
export interface HonchoMessageCreate {
  peer_id: string;
  content: string;
  metadata?: Record<string, unknown> | null;
  configuration?: unknown;
  created_at?: string | null;
}

/** A page of `POST …/messages/list`. */
export interface HonchoPage<T> {
  items: T[];
  total: number;
  page: number;
  size: number;
  pages: number;
}

/** Honcho's limit on one `POST …/messages`. */
export const MAX_MESSAGES_PER_CALL = 100;

/**
 * What the demo writes in each message's `metadata`: our own ids. Honcho
 * itself reads none of it; the demo service's duplicate check (our
 * addition) keys on `demo_id`, and the end check reads all three.
 */
export interface DemoMetadata {
  /** The message's id, unique in the run: `<task id>-u` or `<task id>-a`. */
  demo_id: string;
  /** The durable task that carried it (one turn). */
  task_id: string;
  /** The turn's number in its session. */
  turn: number;
}

/** The demo's metadata of a stored message, or `undefined` when it has none. */
export function demoMetadataOf(message: { metadata?: unknown }): DemoMetadata | undefined {
  const meta = message.metadata as Partial<DemoMetadata> | null | undefined;
  if (typeof meta !== 'object' || meta === null) return undefined;
  if (typeof meta.demo_id !== 'string' || typeof meta.task_id !== 'string') return undefined;
  if (!Number.isInteger(meta.turn)) return undefined;
  return meta as DemoMetadata;
}
