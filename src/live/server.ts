import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostAllowed } from './hosts.js';
import { CONTENT_SECURITY_POLICY } from './page.js';
import type { ViewerHub } from './viewers.js';

/** A file the server answers with. */
export interface Asset {
  type: string;
  body: string;
}

/** What the server serves: the page's files by path, and the viewers of `/events`. */
export interface LiveRoutes {
  /** Filled in once the port is known, as the page names its address. */
  assets: Map<string, Asset>;
  hub: ViewerHub;
  /** Filled in once the port is known: the `Host` values to answer. */
  allowed: Set<string>;
}

/** Headers on every answer: no framing, no sniffing, no caching, no referrer, the page's CSP. */
const COMMON_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Tells the browser how soon to reconnect after the stream ends (a dropped viewer comes back). */
const RETRY_MS = 1_000;

function refuse(res: ServerResponse, status: number, text: string, extra = {}): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    ...extra,
  });
  res.end(`${text}\n`);
}

/** The browser's `Last-Event-ID` on a reconnect, or `undefined`. */
export function lastEventId(req: IncomingMessage): number | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

function openStream(req: IncomingMessage, res: ServerResponse, hub: ViewerHub): void {
  res.writeHead(200, {
    ...COMMON_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    connection: 'keep-alive',
    // Proxies that buffer would hold the stream back.
    'x-accel-buffering': 'no',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.write(`retry: ${RETRY_MS}\n\n`);
  const leave = hub.add(res, lastEventId(req));
  res.on('close', leave);
}

/**
 * Answers one request: refuses a `Host` that is not the bound address
 * (421: a DNS-rebinding page sends its own name), anything but GET and
 * HEAD (405), unknown paths (404); serves the assets, and `/events` as a
 * server-sent event stream.
 */
export function handle(routes: LiveRoutes, req: IncomingMessage, res: ServerResponse): void {
  if (!hostAllowed(req.headers.host, routes.allowed)) {
    refuse(res, 421, 'misdirected request: this live view answers only its own address');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    refuse(res, 405, 'the live view is read-only', { allow: 'GET, HEAD' });
    return;
  }
  const path = (req.url ?? '/').split('?')[0] as string;
  if (path === '/events') {
    openStream(req, res, routes.hub);
    return;
  }
  const asset = routes.assets.get(path);
  if (asset === undefined) {
    refuse(res, 404, 'not found');
    return;
  }
  res.writeHead(200, { ...COMMON_HEADERS, 'content-type': asset.type });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

/**
 * Starts listening. The server and its connections are unref'd: an open
 * page never keeps the process alive.
 */
export function listen(
  routes: LiveRoutes,
  host: string,
  port: number,
  onError: (error: unknown) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    try {
      handle(routes, req, res);
    } catch (error) {
      onError(error);
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.destroy();
    }
  });
  server.on('connection', (socket) => socket.unref());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', onError);
      server.unref();
      resolve(server);
    });
  });
}

/** The port the server got (the one asked for, or the free one it took for 0). */
export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Stops the server and cuts every connection; resolves once it is closed. */
export function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
