/**
 * The memory service's records, Honcho-shaped: workspaces, their sessions,
 * and each session's messages in the order they were created. Every change
 * is appended to the store file before it is answered.
 *
 * One addition of ours, not Honcho's: a batch of messages is checked against
 * the `metadata.demo_id`s already stored in its workspace (Honcho itself
 * stores every write as new rows), and the check and the write are one
 * synchronous step, so two calls cannot both pass it.
 */
import { randomBytes } from 'node:crypto';
import {
  type DemoMetadata,
  demoMetadataOf,
  type HonchoMessage,
  type HonchoMessageCreate,
  type HonchoPage,
  type HonchoSession,
  type HonchoWorkspace,
} from './honchoTypes.js';
import { appendLine, openStore, type StoreLine } from './serviceStore.js';

/** A get-or-create's record, and whether this call created it (201) or found it (200). */
export interface GotOrCreated<T> {
  record: T;
  created: boolean;
}

/** What `addMessages` decided. */
export type AddOutcome =
  | { kind: 'stored'; messages: HonchoMessage[] }
  /** Every message's `demo_id` was already stored: nothing written. */
  | { kind: 'duplicate'; ids: string[] }
  /** Some were stored and some not: nothing written. */
  | { kind: 'mixed'; stored: string[] };

/** Honcho's ids are 21-character nanoids; any unique string will do for the SDK. */
const newId = () => randomBytes(16).toString('base64url').slice(0, 21);

/** Roughly Honcho's count: about four characters a token. */
const tokensOf = (content: string) => Math.ceil(content.length / 4);

/** The records of one service, rebuilt from its store file and kept in step with it. */
export class HonchoState {
  private readonly workspaces = new Map<string, HonchoWorkspace>();
  /** By `workspace/session`. */
  private readonly sessions = new Map<string, HonchoSession>();
  private readonly messages = new Map<string, HonchoMessage[]>();
  /** `metadata.demo_id`s stored, by `workspace/demo_id`. */
  private readonly demoIds = new Set<string>();

  constructor(private readonly file: string) {
    for (const line of openStore(file)) this.apply(line);
  }

  getOrCreateWorkspace(
    id: string,
    metadata: Record<string, unknown>,
  ): GotOrCreated<HonchoWorkspace> {
    const found = this.workspaces.get(id);
    if (found) return { record: found, created: false };
    const workspace = { id, metadata, configuration: {}, created_at: new Date().toISOString() };
    this.write({ kind: 'workspace', workspace });
    return { record: workspace, created: true };
  }

  hasWorkspace(id: string): boolean {
    return this.workspaces.has(id);
  }

  getOrCreateSession(
    workspace: string,
    id: string,
    metadata: Record<string, unknown>,
  ): GotOrCreated<HonchoSession> {
    const found = this.sessions.get(`${workspace}/${id}`);
    if (found) return { record: found, created: false };
    const session: HonchoSession = {
      id,
      workspace_id: workspace,
      is_active: true,
      metadata,
      configuration: {},
      created_at: new Date().toISOString(),
    };
    this.write({ kind: 'session', session });
    return { record: session, created: true };
  }

  hasSession(workspace: string, id: string): boolean {
    return this.sessions.has(`${workspace}/${id}`);
  }

  /** Checks the batch's `demo_id`s and, if none is stored yet, stores it: one synchronous step. */
  addMessages(workspace: string, session: string, batch: HonchoMessageCreate[]): AddOutcome {
    const ids = batch.flatMap((m) => demoMetadataOf(m)?.demo_id ?? []);
    const stored = ids.filter((id) => this.demoIds.has(`${workspace}/${id}`));
    if (stored.length > 0 && stored.length === batch.length) return { kind: 'duplicate', ids };
    if (stored.length > 0) return { kind: 'mixed', stored };
    const createdAt = new Date().toISOString();
    const messages = batch.map(
      (m): HonchoMessage => ({
        id: newId(),
        content: m.content,
        peer_id: m.peer_id,
        session_id: session,
        workspace_id: workspace,
        metadata: m.metadata ?? {},
        created_at: m.created_at ?? createdAt,
        token_count: tokensOf(m.content),
      }),
    );
    this.write({ kind: 'messages', workspace, session, messages });
    return { kind: 'stored', messages };
  }

  /** One page of a session's messages, oldest first (or newest first with `reverse`). */
  listMessages(
    workspace: string,
    session: string,
    { page, size, reverse }: { page: number; size: number; reverse: boolean },
  ): HonchoPage<HonchoMessage> {
    const all = this.messages.get(`${workspace}/${session}`) ?? [];
    const ordered = reverse ? [...all].reverse() : all;
    return {
      items: ordered.slice((page - 1) * size, page * size),
      total: all.length,
      page,
      size,
      pages: Math.ceil(all.length / size),
    };
  }

  private write(line: StoreLine): void {
    appendLine(this.file, line);
    this.apply(line);
  }

  private apply(line: StoreLine): void {
    if (line.kind === 'workspace') {
      this.workspaces.set(line.workspace.id, line.workspace);
    } else if (line.kind === 'session') {
      this.sessions.set(`${line.session.workspace_id}/${line.session.id}`, line.session);
    } else {
      const key = `${line.workspace}/${line.session}`;
      const list = this.messages.get(key) ?? [];
      list.push(...line.messages);
      this.messages.set(key, list);
      for (const message of line.messages) {
        const meta: DemoMetadata | undefined = demoMetadataOf(message);
        if (meta) this.demoIds.add(`${line.workspace}/${meta.demo_id}`);
      }
    }
  }
}
