/**
 * The README's probe recipe, as a file the tests run: liveness and readiness
 * endpoints for a process that runs a SyncWorker, with `node:http` only.
 */
import { createServer, type Server } from 'node:http';
import type { SyncWorker } from '../../src/index.js';

/**
 * `/livez` is 503 once the worker has shut down (it will never deliver
 * again: restart the process); `/readyz` is 503 while the worker is `down`
 * (it cannot take work: send it none). Both send the verdict as JSON. A
 * `degraded` worker is alive and ready: it keeps or fails fast what the
 * remote cannot take, and restarting it would bring no remote back.
 */
export function healthProbe(worker: SyncWorker): Server {
  return createServer((request, response) => {
    const health = worker.health();
    const failing =
      request.url === '/livez'
        ? worker.state === 'shutdown'
        : request.url === '/readyz'
          ? health.status === 'down'
          : undefined;
    if (failing === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(failing ? 503 : 200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(health));
  });
}
