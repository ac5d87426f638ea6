/**
 * `xstate-sync-worker/live`: a page on a local port that shows a worker's
 * machines as their generated diagrams, with each actor's current state
 * highlighted, live charts of its queue, backlog, timeout and p95, and the
 * last state changes. Node only; it needs no network and loads nothing
 * from another origin.
 *
 * @packageDocumentation
 */
import type { SyncWorker } from '../SyncWorker.js';
import { diagramsFor, loadDiagrams } from './diagrams.js';
import { feedLiveState, sampleMetrics, watchedActors } from './feed.js';
import { allowedHosts, hostWithPort, isLoopback } from './hosts.js';
import { LiveState } from './liveState.js';
import { type LiveViewOptions, liveViewSettings } from './options.js';
import { FAVICON, renderPage } from './page.js';
import { PAGE_SCRIPT } from './pageScript.js';
import { PAGE_STYLE } from './pageStyle.js';
import { boundPort, type LiveRoutes, listen, stop } from './server.js';
import { ViewerHub } from './viewers.js';

export type { StateChange } from './changeRing.js';
export type { MetricSample } from './feed.js';
export type { ActorState } from './liveState.js';
export type { LiveViewOptions } from './options.js';
export type { SnapshotMessage, UpdateMessage } from './viewers.js';

/** At most one message per viewer in this many ms: the changes between two are sent together. */
export const SEND_INTERVAL_MS = 100;
/** Chart points a new viewer gets: 30 s at one point per send. */
const METRICS_KEPT = 300;

/** A running live view. */
export interface LiveView {
  /** Where to open the page, e.g. `http://127.0.0.1:4567/`. */
  readonly url: string;
  /** The address it is bound to. */
  readonly host: string;
  readonly port: number;
  /** Viewers connected now. */
  readonly viewers: number;
  /** Stops following the worker, disconnects every viewer and closes the port. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves a live view of `worker` on `host:port` (by default `127.0.0.1` and a
 * free port). It follows the worker's actors through XState's
 * `system.inspect`, so the worker needs no option for it, and it costs the
 * worker nothing per task: the actors change state only on control events.
 * The server keeps the latest state of each actor and the last `history`
 * changes, and sends each viewer at most one message every 100 ms.
 *
 * @throws TypeError or RangeError for a bad option (naming it), including a
 *   non-loopback `host` without `allowRemote: true`.
 */
export async function serveLiveView(
  worker: SyncWorker,
  options: LiveViewOptions = {},
): Promise<LiveView> {
  const settings = liveViewSettings(options);
  if (typeof worker?.stats !== 'function' || worker.actor === undefined) {
    throw new TypeError('serveLiveView: worker must be a SyncWorker');
  }
  const diagrams = loadDiagrams();
  const watched = watchedActors(worker, (machine) => diagrams.has(machine));
  const state = new LiveState(settings.history);
  const detach = feedLiveState(watched, state, settings.logger);
  const hub = new ViewerHub(state, () => sampleMetrics(worker), {
    maxBufferedBytes: settings.maxBufferedBytes,
    intervalMs: SEND_INTERVAL_MS,
    metricsKept: METRICS_KEPT,
    clock: settings.clock,
  });
  const allowed = new Set<string>();
  const routes: LiveRoutes = { assets: new Map(), hub, allowed };
  const onError = (error: unknown) => settings.logger.error?.('live view: server error', error);
  let server: Awaited<ReturnType<typeof listen>>;
  try {
    server = await listen(routes, settings.host, settings.port, onError);
  } catch (error) {
    detach();
    throw error;
  }
  const port = boundPort(server);
  for (const name of allowedHosts(settings.host, port, settings.allowedHosts)) allowed.add(name);
  const address = hostWithPort(settings.host, port);
  const page = renderPage(
    { name: worker.name, address, loopback: isLoopback(settings.host) },
    diagramsFor(diagrams, watched.values()),
  );
  const { assets } = routes;
  assets.set('/', { type: 'text/html; charset=utf-8', body: page });
  assets.set('/live.js', { type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT });
  assets.set('/live.css', { type: 'text/css; charset=utf-8', body: PAGE_STYLE });
  assets.set('/favicon.svg', { type: 'image/svg+xml', body: FAVICON });
  let closing: Promise<void> | undefined;
  return {
    url: `http://${address}/`,
    host: settings.host,
    port,
    get viewers() {
      return hub.size;
    },
    close() {
      closing ??= (async () => {
        detach();
        hub.closeAll();
        await stop(server);
      })();
      return closing;
    },
  };
}
