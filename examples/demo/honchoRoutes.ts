/**
 * The routes of Honcho's v3 API the demo service answers, and the checks of
 * their requests. Malformed requests get FastAPI's validation answer (422 with
 * an array `detail`), as Honcho's server gives; Honcho's own errors are
 * `{ "detail": "<string>" }`.
 */
import { type HonchoMessageCreate, MAX_MESSAGES_PER_CALL } from './honchoTypes.js';

/** One entry of FastAPI's validation answer. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** A failure with an HTTP status, answered as `{ detail }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | ValidationIssue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? detail : detail.map((d) => d.msg).join('; '));
  }
}

/** A 422 in FastAPI's shape, for one bad field. */
export function invalid(loc: (string | number)[], msg: string, type = 'value_error'): HttpError {
  return new HttpError(422, [{ loc, msg, type }]);
}

/** A request the service knows, with its path parameters. */
export type Route =
  | { kind: 'health' }
  | { kind: 'workspace' }
  | { kind: 'session'; workspace: string }
  | { kind: 'addMessages'; workspace: string; session: string }
  | { kind: 'listMessages'; workspace: string; session: string };

const ROUTES: { pattern: RegExp; method: string; make: (p: string[]) => Route }[] = [
  { pattern: /^\/health$/, method: 'GET', make: () => ({ kind: 'health' }) },
  { pattern: /^\/v3\/workspaces$/, method: 'POST', make: () => ({ kind: 'workspace' }) },
  {
    pattern: /^\/v3\/workspaces\/([^/]+)\/sessions$/,
    method: 'POST',
    make: ([workspace]) => ({ kind: 'session', workspace: workspace as string }),
  },
  {
    pattern: /^\/v3\/workspaces\/([^/]+)\/sessions\/([^/]+)\/messages$/,
    method: 'POST',
    make: ([workspace, session]) => ({
      kind: 'addMessages',
      workspace: workspace as string,
      session: session as string,
    }),
  },
  {
    pattern: /^\/v3\/workspaces\/([^/]+)\/sessions\/([^/]+)\/messages\/list$/,
    method: 'POST',
    make: ([workspace, session]) => ({
      kind: 'listMessages',
      workspace: workspace as string,
      session: session as string,
    }),
  },
];

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(404, 'Not Found');
  }
}

/** The route of a method and path: 404 for an unknown path, 405 (with `allow`) for a wrong method. */
export function routeOf(method: string, pathname: string): Route {
  for (const route of ROUTES) {
    const match = route.pattern.exec(pathname);
    if (match === null) continue;
    if (method !== route.method) {
      throw new HttpError(405, 'Method Not Allowed', { allow: route.method });
    }
    return route.make(match.slice(1).map(decode));
  }
  throw new HttpError(404, 'Not Found');
}

/** The JSON body, or FastAPI's 422 when it is not JSON. */
export function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(['body'], 'JSON decode error', 'json_invalid');
  }
}

const ID_PATTERN = /^[a-zA-Z0-9_-]+$/;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function metadataOf(value: unknown, loc: (string | number)[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalid(loc, 'Input should be a valid dictionary', 'dict_type');
  return value;
}

/** A `WorkspaceCreate` or `SessionCreate` body: its `id` and `metadata`. */
export function parseCreate(body: unknown): { id: string; metadata: Record<string, unknown> } {
  if (!isObject(body)) throw invalid(['body'], 'Input should be a valid dictionary', 'dict_type');
  const { id } = body;
  if (typeof id !== 'string' || id.length === 0 || id.length > 512 || !ID_PATTERN.test(id)) {
    throw invalid(['body', 'id'], 'id must be 1 to 512 of a-z, A-Z, 0-9, _ and -');
  }
  return { id, metadata: metadataOf(body.metadata, ['body', 'metadata']) };
}

function parseMessage(value: unknown, i: number): HonchoMessageCreate {
  const loc = ['body', 'messages', i];
  if (!isObject(value)) throw invalid(loc, 'Input should be a valid dictionary', 'dict_type');
  if (typeof value.content !== 'string' || value.content.length > 25_000) {
    throw invalid([...loc, 'content'], 'content must be a string of at most 25000 characters');
  }
  if (typeof value.peer_id !== 'string' || value.peer_id === '') {
    throw invalid([...loc, 'peer_id'], 'peer_id must be a non-empty string');
  }
  const createdAt = value.created_at;
  if (createdAt !== undefined && createdAt !== null && typeof createdAt !== 'string') {
    throw invalid([...loc, 'created_at'], 'created_at must be a date-time string');
  }
  return {
    peer_id: value.peer_id,
    content: value.content,
    metadata: metadataOf(value.metadata, [...loc, 'metadata']),
    created_at: createdAt ?? null,
  };
}

/** A `MessageBatchCreate` body: 1 to 100 messages, as Honcho limits them. */
export function parseMessageBatch(body: unknown): HonchoMessageCreate[] {
  if (!isObject(body) || !Array.isArray(body.messages)) {
    throw invalid(['body', 'messages'], 'messages must be a list', 'list_type');
  }
  const { messages } = body;
  if (messages.length < 1) {
    throw invalid(['body', 'messages'], 'List should have at least 1 item', 'too_short');
  }
  if (messages.length > MAX_MESSAGES_PER_CALL) {
    throw invalid(
      ['body', 'messages'],
      `List should have at most ${MAX_MESSAGES_PER_CALL} items after validation, not ${messages.length}`,
      'too_long',
    );
  }
  return messages.map(parseMessage);
}

function integerParam(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    throw invalid(['query', name], `${name} must be an integer from 1 to ${max}`);
  }
  return value;
}

/** The paging of `…/messages/list`: `page` ≥ 1 (default 1), `size` 1–100 (default 50), `reverse`. */
export function parsePaging(query: URLSearchParams): {
  page: number;
  size: number;
  reverse: boolean;
} {
  const reverse = query.get('reverse');
  if (reverse !== null && reverse !== 'true' && reverse !== 'false') {
    throw invalid(['query', 'reverse'], 'reverse must be true or false', 'bool_parsing');
  }
  return {
    page: integerParam(query, 'page', 1, Number.MAX_SAFE_INTEGER),
    size: integerParam(query, 'size', 50, 100),
    reverse: reverse === 'true',
  };
}
