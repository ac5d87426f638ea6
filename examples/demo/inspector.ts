/**
 * `--inspect`, and the README's recipe for the Stately inspector in Node: a
 * bridge from this process's actors to the inspector UI, on loopback only.
 *
 * `@statelyai/inspect`'s own `createInspectorServer` (0.7.2) takes no host:
 * it listens on every interface, and opens a browser unless told not to.
 * This bridge binds 127.0.0.1, opens nothing, refuses requests whose `Host`
 * is not its own (a rebound DNS name), and needs only `node:http`: events
 * reach the page by server-sent events, and the page hands them to the
 * inspector UI in its iframe. The UI itself loads from stately.ai, so
 * watching needs the network; the bridge does not.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInspector } from '@statelyai/inspect';
import type { Inspect } from '../../src/index.js';

/** Where the bridge listens and what its page embeds. */
export interface InspectorOptions {
  /** The port on 127.0.0.1; default 0, a free one. */
  port?: number;
  /** The inspector UI the page embeds; default `https://stately.ai/inspect`. */
  uiUrl?: string;
  /** How many recent events (besides every actor's announcement) a page that opens late replays; default 1000. */
  replay?: number;
}

/** A running bridge and the `inspect` callback that feeds it. */
export interface Inspector {
  /** The page to open, `http://127.0.0.1:<port>`. */
  url: string;
  inspect: Inspect;
  /** Closes the server and every open page's stream. */
  stop(): void;
}

const HOST = '127.0.0.1';
/** What the inspector UI posts to its parent once it listens. */
const CONNECTED = '@statelyai.connected';

/** The page: the UI in an iframe, fed from `/events` once it says it is connected. */
function page(uiUrl: string): string {
  const origin = JSON.stringify(new URL(uiUrl).origin);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Stately Inspector</title>
<style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: 0; }</style></head>
<body><iframe id="ui" src="${encodeURI(uiUrl)}"></iframe>
<script>
const ui = document.getElementById('ui');
const waiting = [];
let connected = false;
const post = (event) => ui.contentWindow.postMessage(event, ${origin});
addEventListener('message', (message) => {
  if (message.source !== ui.contentWindow || message.data?.type !== '${CONNECTED}') return;
  connected = true;
  waiting.splice(0).forEach(post);
});
new EventSource('/events').onmessage = (message) => {
  const event = JSON.parse(message.data);
  if (connected) post(event);
  else waiting.push(event);
};
</script></body></html>`;
}

/** JSON that survives cycles (an event may carry an actor reference): a repeated object becomes a marker. */
function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'function') return undefined;
    if (typeof item !== 'object' || item === null) return item;
    if (seen.has(item)) return '[seen]';
    seen.add(item);
    return item;
  });
}

/** Keeps every actor's announcement (the UI needs it to draw anything) and a ring of the rest. */
class History {
  private readonly actors: string[] = [];
  private readonly recent: string[] = [];

  constructor(private readonly size: number) {}

  add(type: unknown, data: string): void {
    if (type === '@xstate.actor') return void this.actors.push(data);
    this.recent.push(data);
    if (this.recent.length > this.size) this.recent.shift();
  }

  all(): string[] {
    return [...this.actors, ...this.recent];
  }
}

/** Starts the bridge on 127.0.0.1; resolves once it listens. */
export async function startInspector(options: InspectorOptions = {}): Promise<Inspector> {
  const uiUrl = options.uiUrl ?? 'https://stately.ai/inspect';
  const history = new History(options.replay ?? 1000);
  const viewers = new Set<ServerResponse>();
  let ownHosts: readonly string[] = [];

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (!ownHosts.includes(request.headers.host ?? '')) {
      response.writeHead(403).end('this inspector answers only on loopback\n');
    } else if (request.url === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      for (const data of history.all()) response.write(`data: ${data}\n\n`);
      viewers.add(response);
      request.on('close', () => viewers.delete(response));
    } else {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(uiUrl));
    }
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 0, HOST, () => listening());
  });
  const { port } = server.address() as AddressInfo;
  ownHosts = [`${HOST}:${port}`, `localhost:${port}`];

  const inspector = createInspector({
    send(event) {
      let data: string;
      try {
        data = toJson(event);
      } catch {
        return; // an event that cannot be written is not worth stopping the app for
      }
      history.add(event.type, data);
      for (const viewer of viewers) viewer.write(`data: ${data}\n\n`);
    },
  });
  return {
    url: `http://${HOST}:${port}`,
    inspect: inspector.inspect,
    stop() {
      for (const viewer of viewers) viewer.end();
      viewers.clear();
      server.close();
    },
  };
}
