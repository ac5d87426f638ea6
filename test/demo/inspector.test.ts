import { createWebSocketReceiver } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import { startInspector } from '../../examples/demo/inspector.js';
import { SyncWorker } from '../../src/index.js';

describe('npm start -- --inspect', () => {
  it('serves the inspector page and relays the worker’s actors to it', async () => {
    const inspector = await startInspector();
    const receiver = createWebSocketReceiver({ server: inspector.url.replace('http', 'ws') });
    let worker: SyncWorker | undefined;
    try {
      const page = await fetch(inspector.url).then((response) => response.text());
      expect(page).toContain('<title>Stately Inspector</title>');
      // What a browser on the page would receive: the worker's actors, by the server's relay.
      const seen = new Promise<string>((resolve) => {
        receiver.subscribe((event) => {
          if (event.type === '@xstate.actor' && event.sessionId.length > 0) resolve(event.type);
        });
      });
      worker = new SyncWorker({ name: 'inspected', inspect: inspector.inspect });
      worker.enqueue({ run: () => 'done' });
      expect(await seen).toBe('@xstate.actor');
    } finally {
      await worker?.shutdown();
      inspector.stop();
    }
  });
});
