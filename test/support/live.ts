/**
 * Talks to a live view as a browser would, over real HTTP: plain requests
 * with any `Host` header, and an event stream read event by event.
 */
import { type IncomingHttpHeaders, request } from 'node:http';
import type { SnapshotMessage, UpdateMessage } from '../../src/live/index.js';

/** One answer, read whole. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request to `url`'s address with the given method and headers (`host` included, if given). */
export function fetchRaw(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** One server-sent event of the live view. */
export interface LiveEvent {
  event: 'snapshot' | 'update';
  id: number;
  data: SnapshotMessage & UpdateMessage;
}

/** An open `/events` stream. */
export interface EventStream {
  status: number;
  headers: IncomingHttpHeaders;
  events: LiveEvent[];
  /** Resolves with the first event (already received or still to come) that `matches`. */
  next(matches: (event: LiveEvent) => boolean): Promise<LiveEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

function parse(block: string): LiveEvent | undefined {
  const lines = block.split('\n');
  const field = (name: string) =>
    lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
  const event = field('event');
  if (event === undefined) return undefined;
  return {
    event: event as LiveEvent['event'],
    id: Number(field('id')),
    data: JSON.parse(field('data') ?? '{}'),
  };
}

/** Opens `/events` of the live view at `url`, optionally resuming from `lastEventId`. */
export function openEvents(url: string, lastEventId?: number): Promise<EventStream> {
  const target = new URL('events', url);
  return new Promise((resolve, reject) => {
    const req = request(target, {
      headers: lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: LiveEvent[] = [];
      const waiting: { matches: (event: LiveEvent) => boolean; resolve: (e: LiveEvent) => void }[] =
        [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const event = parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          if (event === undefined) continue;
          events.push(event);
          for (const wait of waiting.filter((w) => w.matches(event))) {
            waiting.splice(waiting.indexOf(wait), 1);
            wait.resolve(event);
          }
        }
      });
      const ended = new Promise<void>((done) => res.on('close', done));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        ended,
        next: (matches) => {
          const seen = events.find(matches);
          if (seen) return Promise.resolve(seen);
          return new Promise((found) => waiting.push({ matches, resolve: found }));
        },
        close: () => req.destroy(),
      });
    });
    req.end();
  });
}
