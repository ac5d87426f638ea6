/**
 * `--inspect`: serves `@statelyai/inspect`'s bridge page and WebSocket on a
 * free local port. The page embeds the Stately inspector UI, which loads from
 * stately.ai, so watching needs the network; the demo itself does not.
 */
import { createServer } from 'node:net';
import type { Inspect } from '../../src/index.js';

/** A running inspector server and the `inspect` callback that feeds it. */
export interface Inspector {
  url: string;
  inspect: Inspect;
  stop(): void;
}

/** A port nobody listens on now, for the inspector's server (which takes a fixed port). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server and connects a WebSocket inspector to it; `stop()` ends both. */
export async function startInspector(): Promise<Inspector> {
  const { createInspectorServer } = await import('@statelyai/inspect/server');
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const port = await freePort();
  const server = createInspectorServer({ port, autoOpen: false });
  const client = createWebSocketInspector({ url: `ws://localhost:${port}` });
  return {
    url: `http://localhost:${port}`,
    inspect: client.inspect,
    stop: () => {
      client.stop();
      server.stop();
    },
  };
}
