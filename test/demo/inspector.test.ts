import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../../examples/demo/browser.js';
import { type Inspector, startInspector } from '../../examples/demo/inspector.js';
import { SyncWorker } from '../../src/index.js';
import { hasChromium, MISSING_CHROMIUM_HINT } from '../support/browser.js';

const open: { inspector?: Inspector; worker?: SyncWorker; servers: Server[] } = { servers: [] };

afterEach(async () => {
  await open.worker?.shutdown();
  open.inspector?.stop();
  for (const server of open.servers.splice(0)) server.close();
  open.worker = undefined;
  open.inspector = undefined;
});

async function inspected(name: string): Promise<Inspector> {
  open.inspector = await startInspector();
  open.worker = new SyncWorker({ name, inspect: open.inspector.inspect });
  open.worker.enqueue({ run: () => 'done' });
  await open.worker.onIdle();
  return open.inspector;
}

/** Reads the bridge's event stream until `found` says an event is the one awaited. */
async function awaitEvent(
  url: string,
  found: (event: { type: string; name?: string }) => boolean,
): Promise<{ type: string; name?: string }> {
  const response = await fetch(`${url}/events`);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (reader === undefined) throw new Error('the stream has no body');
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before the event: ${text}`);
      text += value;
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const event = JSON.parse(line.slice(6));
        if (found(event)) return event;
      }
    }
  } finally {
    await reader.cancel();
  }
}

/** A GET with a chosen Host header (fetch may not set it). */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

/** This machine's first address that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? [])
      if (!entry.internal && entry.family === 'IPv4') return entry.address;
  }
  return undefined;
}

function refusedAt(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('the inspector bridge (npm start -- --inspect, and the README recipe)', () => {
  it('replays the actors announced before a page connects, then streams', async () => {
    const inspector = await inspected('inspected');
    const page = await fetch(inspector.url).then((response) => response.text());
    expect(page).toContain('<iframe id="ui" src="https://stately.ai/inspect">');
    const announced = await awaitEvent(
      inspector.url,
      (e) => e.type === '@xstate.actor' && e.name === 'inspected',
    );
    expect(announced.type).toBe('@xstate.actor');
  });

  it('listens on loopback only and refuses a foreign Host header', async () => {
    const inspector = await inspected('loopback');
    const { hostname, port } = new URL(inspector.url);
    expect(hostname).toBe('127.0.0.1');
    const outside = outsideAddress();
    if (outside !== undefined) expect(await refusedAt(outside, Number(port))).toBe(true);
    expect(await statusWithHost(inspector.url, `127.0.0.1:${port}`)).toBe(200);
    expect(await statusWithHost(inspector.url, `localhost:${port}`)).toBe(200);
    // A page elsewhere whose DNS name was rebound to 127.0.0.1 sends its own name.
    expect(await statusWithHost(inspector.url, `attacker.example:${port}`)).toBe(403);
  });

  // CI installs Chromium, so there a missing one is a failure; elsewhere the test is skipped.
  const skip = !hasChromium() && !process.env.CI;
  if (skip) console.info(`skipping the inspector page in a browser: ${MISSING_CHROMIUM_HINT}`);

  it.skipIf(skip)(
    'its page hands the events to the UI once the UI says it is connected',
    async () => {
      // A stand-in for the Stately UI, on another origin: it announces itself as the real one does.
      const ui = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><script>
        window.received = [];
        addEventListener('message', (message) => window.received.push(message.data));
        parent.postMessage({ type: '@statelyai.connected' }, '*');
      </script>`);
      });
      open.servers.push(ui);
      await new Promise<void>((listening) => ui.listen(0, '127.0.0.1', () => listening()));
      const uiUrl = `http://localhost:${(ui.address() as AddressInfo).port}/`;
      open.inspector = await startInspector({ uiUrl });
      open.worker = new SyncWorker({ name: 'in-the-browser', inspect: open.inspector.inspect });
      open.worker.enqueue({ run: () => 'done' });
      await open.worker.onIdle();

      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(open.inspector.url);
        const frame = page.frame({ url: uiUrl });
        if (frame === null) throw new Error('the page has no UI frame');
        await frame.waitForFunction(() =>
          (window as unknown as { received: { type: string; name?: string }[] }).received.some(
            (event) => event.type === '@xstate.actor' && event.name === 'in-the-browser',
          ),
        );
      } finally {
        await browser.close();
      }
    },
  );
});
