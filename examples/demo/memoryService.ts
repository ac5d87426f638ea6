/**
 * The memory service the demo writes to: a real HTTP server on 127.0.0.1
 * that speaks the subset of Honcho's v3 API the SDK uses (routes in
 * honchoRoutes.ts, records in honchoState.ts), with an append-only JSONL
 * store, playing a fault scenario. It is slow, fails some writes, refuses
 * connections or answers 503, as the scenario's window says. A write commits
 * after its latency even when the client has given up, so a retry of it finds
 * it stored (409: our duplicate check, which Honcho does not have).
 *
 * `createMemoryService` runs it in this process (tests); `startServiceProcess`
 * (serviceProcess.ts) runs it in a child process (the demo).
 */
import http from 'node:http';
import {
  HttpError,
  parseCreate,
  parseJson,
  parseMessageBatch,
  parsePaging,
  routeOf,
} from './honchoRoutes.js';
import { HonchoState } from './honchoState.js';
import { demoMetadataOf, type HonchoMessageCreate } from './honchoTypes.js';
import { hashSeed, logNormal, mulberry32 } from './random.js';
import { phaseAt } from './scenario.js';
import type { LatencyModel, PhaseWindow, Scenario } from './types.js';

/** The service listens on loopback only. */
export const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 1024 * 1024;
const RELISTEN_ATTEMPTS = 10;
const RELISTEN_PAUSE_MS = 50;

/** Called with a window when it becomes current, and `atMs`, the scenario time of the change. */
export type PhaseListener = (window: PhaseWindow, atMs: number) => void;

/** A valid write that has arrived and now waits its latency. */
export interface ArrivedWrite {
  session: string;
  /** The messages' `metadata.demo_id`s. */
  ids: string[];
  /** The latency it waits before it commits (or fails with a 500). */
  delayMs: number;
}

/** One request and the service's answer, as JSON values (`undefined` for an empty body). */
export interface Exchange {
  method: string;
  /** Path and query, as sent. */
  url: string;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
}

/** How `createMemoryService` runs. */
export interface MemoryServiceOptions {
  /** The JSONL store; created if missing, resumed if present. */
  file: string;
  scenario: Scenario;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The clock (ms); the scenario's t = 0 is its value when the service is created. */
  now?: () => number;
  /** Sees each valid write as it starts its latency (for tests and tracing). */
  onArrival?: (write: ArrivedWrite) => void;
  /** Sees every request the service answered, with its answer (the conformance test checks them). */
  onExchange?: (exchange: Exchange) => void;
  /** Sees a failure to listen again after a `refuse` outage, or a phase listener's; default: logged to stderr. */
  onError?: (error: Error) => void;
}

/** What the service answered, by kind. */
export interface ServiceCounts {
  /** Writes stored (201). */
  stored: number;
  /** Writes already stored (409). */
  duplicates: number;
  /** Writes failed on purpose (500). */
  errors: number;
  /** Requests answered 503 during an `unavailable` outage. */
  unavailable: number;
  /** Client mistakes: 404, 405, 413 and 422 (malformed, over 100 messages, or partly stored). */
  badRequests: number;
}

/** A running memory service. */
export interface MemoryService {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** ms on the scenario's clock: since the service was created. */
  elapsed(): number;
  /** The window of the scenario's current time. */
  phase(): PhaseWindow;
  /**
   * Calls `listener` with the current window at once, then at each change,
   * once the change took effect (a `refuse` outage no longer listens). Returns
   * an unsubscribe function.
   */
  onPhase(listener: PhaseListener): () => void;
  counts(): ServiceCounts;
  /** Stops listening and drops writes still waiting their latency (they never commit). */
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES)
        reject(new HttpError(413, `the body exceeds ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before the body ended'));
    });
  });
}

/** The list's body may carry `filters`; this service does not filter, so it refuses any rather than ignore them. */
function refuseFilters(body: unknown): void {
  const filters = (body as { filters?: unknown } | null)?.filters;
  if (filters === undefined || filters === null) return;
  if (typeof filters === 'object' && Object.keys(filters).length === 0) return;
  throw new HttpError(422, 'filters are not supported by the demo service');
}

function send(res: http.ServerResponse, status: number, body: unknown, headers = {}): void {
  // The client may have gone (aborted, or dropped by a refuse outage): the write still counted.
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Linear interpolation from `a` (f = 0) to `b` (f = 1). */
const lerp = (a: number, b: number, f: number) => a + (b - a) * f;

/** The latency model and error rate at `tMs`: the window's, eased toward the next one's if it says so. */
function conditionsAt(
  scenario: Scenario,
  window: PhaseWindow,
  tMs: number,
): { latency: LatencyModel; errorRate: number } {
  const next = scenario.windows[scenario.windows.indexOf(window) + 1];
  if (!window.easesIntoNext || next === undefined || !Number.isFinite(window.endMs)) {
    return { latency: window.latency, errorRate: window.errorRate };
  }
  const length = window.endMs - window.startMs;
  const f = length > 0 ? Math.min(1, Math.max(0, (tMs - window.startMs) / length)) : 1;
  return {
    latency: {
      medianMs: lerp(window.latency.medianMs, next.latency.medianMs, f),
      sigma: lerp(window.latency.sigma, next.latency.sigma, f),
    },
    errorRate: lerp(window.errorRate, next.errorRate, f),
  };
}

/** The cold start's slowdown at `tMs`: `coldStartFactor` at 0, easing linearly to 1 at `coldStartMs`. */
function coldStartFactorAt(scenario: Scenario, tMs: number): number {
  if (tMs >= scenario.coldStartMs) return 1;
  return lerp(scenario.coldStartFactor, 1, Math.max(0, tMs) / scenario.coldStartMs);
}

function listenOnce(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, HOST);
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/* ---------------------------------------------------------------- service */

class HttpMemoryService implements MemoryService {
  port = 0;
  private readonly scenario: Scenario;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly state: HonchoState;
  /** Each request's method, URL and body so far, for `onExchange`. */
  private readonly requests = new WeakMap<
    http.ServerResponse,
    Omit<Exchange, 'status' | 'responseBody'>
  >();
  /** Requests seen per first message id: the per-request PRNG's third seed part. */
  private readonly attempts = new Map<string, number>();
  private readonly tally: ServiceCounts = {
    stored: 0,
    duplicates: 0,
    errors: 0,
    unavailable: 0,
    badRequests: 0,
  };
  private readonly server: http.Server;
  private listening = false;
  /** The window the schedule is in or moving to. */
  private target: PhaseWindow | undefined;
  /** The window whose effect is in place, as the listeners last heard. */
  private applied: { window: PhaseWindow; atMs: number } | undefined;
  private readonly listeners = new Set<PhaseListener>();
  /** Phase changes run one at a time: closing and listening again take a while. */
  private transitions: Promise<void> = Promise.resolve();
  private wakeTimer: NodeJS.Timeout | undefined;
  /** Cancels the latency waits in progress, for `close()`. */
  private readonly waits = new Set<() => void>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: MemoryServiceOptions) {
    this.scenario = options.scenario;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.state = new HonchoState(options.file);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error));
    });
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  /** Listens (even if the first window refuses: the port must be known) and enters the first window. */
  async start(): Promise<void> {
    await listenOnce(this.server, this.options.port ?? 0);
    this.listening = true;
    this.port = (this.server.address() as { port: number }).port;
    this.sync();
    await this.transitions;
  }

  phase(): PhaseWindow {
    return phaseAt(this.scenario, this.elapsed());
  }

  onPhase(listener: PhaseListener): () => void {
    this.listeners.add(listener);
    if (this.applied) listener(this.applied.window, this.applied.atMs);
    return () => this.listeners.delete(listener);
  }

  counts(): ServiceCounts {
    return { ...this.tally };
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    clearTimeout(this.wakeTimer);
    for (const cancel of this.waits) cancel();
    await this.transitions;
    this.listeners.clear();
    if (this.listening) await this.stopListening();
  }

  elapsed(): number {
    return this.now() - this.startedAt;
  }

  /* -- the schedule */

  /**
   * Enters the window of the current time if it changed, then sleeps until
   * the next boundary. The clock decides, not the timer: a timer only wakes
   * the check, so a fake `now` in tests moves the phases when it says so.
   */
  private readonly sync = (): void => {
    if (this.closing) return;
    const t = this.elapsed();
    const window = phaseAt(this.scenario, t);
    if (window !== this.target) {
      this.target = window;
      this.transitions = this.transitions.then(() => this.enter(window, t));
    }
    const next = this.scenario.windows.find((w) => w.startMs > t);
    if (next !== undefined) {
      this.wakeTimer = setTimeout(this.sync, Math.max(1, Math.ceil(next.startMs - t)));
      // Like the listening server, a service refusing connections for a while still holds the
      // process open: only an idle timer on a listening service stays out of its way.
      if (window.outage !== 'refuse') this.wakeTimer.unref();
    }
  };

  private async enter(window: PhaseWindow, atMs: number): Promise<void> {
    if (this.closing) return;
    try {
      if (window.outage === 'refuse' && this.listening) await this.stopListening();
      if (window.outage !== 'refuse' && !this.listening) await this.listenAgain();
    } catch (error) {
      this.report(error);
    }
    this.applied = { window, atMs };
    for (const listener of this.listeners) {
      // A listener's mistake must not stall the schedule: later changes chain on this one.
      try {
        listener(window, atMs);
      } catch (error) {
        this.report(error);
      }
    }
  }

  /** Answers, and shows the exchange to `onExchange`. */
  private answer(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    send(res, status, body, headers);
    const request = this.requests.get(res);
    if (request) this.options.onExchange?.({ ...request, status, responseBody: body });
  }

  private report(error: unknown): void {
    const onError = this.options.onError ?? ((e: Error) => console.error('memory service:', e));
    onError(error instanceof Error ? error : new Error(String(error)));
  }

  /** Refuses connections from now on: closes the listener and every open socket, keep-alive ones too. */
  private stopListening(): Promise<void> {
    this.listening = false;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Listens again on the same port, which another process may hold for a moment. */
  private async listenAgain(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await listenOnce(this.server, this.port);
        this.listening = true;
        return;
      } catch (error) {
        const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!inUse || attempt >= RELISTEN_ATTEMPTS) throw error;
        await pause(RELISTEN_PAUSE_MS);
      }
    }
  }

  /* -- requests */

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t = this.elapsed();
    const window = phaseAt(this.scenario, t);
    if (window.outage === 'refuse') {
      // Arrived just before the listener closed: treat it as refused.
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    const seen = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      requestBody: undefined as unknown,
    };
    this.requests.set(res, seen);
    if (window.outage === 'unavailable') {
      this.tally.unavailable++;
      this.answer(
        res,
        503,
        { detail: 'service unavailable (injected outage)' },
        { 'retry-after': '1' },
      );
      return;
    }
    const route = routeOf(req.method ?? 'GET', url.pathname);
    if (route.kind === 'health') {
      this.answer(res, 200, { status: 'ok' });
      return;
    }
    const text = await readBody(req);
    const body = parseJson(text);
    seen.requestBody = body ?? undefined;
    if (route.kind === 'workspace') {
      const { id, metadata } = parseCreate(body);
      const { record, created } = this.state.getOrCreateWorkspace(id, metadata);
      this.answer(res, created ? 201 : 200, record);
    } else if (route.kind === 'session') {
      const { id, metadata } = parseCreate(body);
      this.requireWorkspace(route.workspace);
      const { record, created } = this.state.getOrCreateSession(route.workspace, id, metadata);
      this.answer(res, created ? 201 : 200, record);
    } else if (route.kind === 'listMessages') {
      this.requireSession(route.workspace, route.session);
      const paging = parsePaging(url.searchParams);
      refuseFilters(body);
      this.answer(res, 200, this.state.listMessages(route.workspace, route.session, paging));
    } else {
      const batch = parseMessageBatch(body);
      this.requireSession(route.workspace, route.session);
      await this.addMessages(res, route, batch, window, t);
    }
  }

  private requireWorkspace(workspace: string): void {
    if (!this.state.hasWorkspace(workspace)) {
      throw new HttpError(404, `Workspace ${workspace} not found`);
    }
  }

  private requireSession(workspace: string, session: string): void {
    this.requireWorkspace(workspace);
    if (!this.state.hasSession(workspace, session)) {
      throw new HttpError(404, `Session ${session} not found in workspace ${workspace}`);
    }
  }

  private async addMessages(
    res: http.ServerResponse,
    route: { workspace: string; session: string },
    batch: HonchoMessageCreate[],
    window: PhaseWindow,
    t: number,
  ): Promise<void> {
    const ids = batch.flatMap((m) => demoMetadataOf(m)?.demo_id ?? []);
    const random = this.randomFor(ids[0] ?? (batch[0] as HonchoMessageCreate).content);
    const { latency, errorRate } = conditionsAt(this.scenario, window, t);
    const delayMs = logNormal(random, latency) * coldStartFactorAt(this.scenario, t);
    const failed = random() < errorRate;
    this.options.onArrival?.({ session: route.session, ids, delayMs });
    // The wait ends whether or not the client is still there: a write it gave up on still lands.
    if (!(await this.wait(delayMs))) return;
    if (failed) {
      this.tally.errors++;
      this.answer(res, 500, { detail: 'internal error (injected)' });
      return;
    }
    this.commit(res, route, batch);
  }

  /** The request's own PRNG: the same request sequence draws the same numbers for the same seed. */
  private randomFor(firstId: string): () => number {
    const n = this.attempts.get(firstId) ?? 0;
    this.attempts.set(firstId, n + 1);
    return mulberry32(hashSeed(this.scenario.seed, firstId, n));
  }

  /** Waits `ms`; resolves `false` instead if the service closes first. */
  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = () => {
        clearTimeout(timer);
        this.waits.delete(cancel);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.waits.delete(cancel);
        resolve(true);
      }, ms).unref();
      this.waits.add(cancel);
    });
  }

  /** Stores the batch, or refuses it (409 all stored, 422 some): checked and stored in one step. */
  private commit(
    res: http.ServerResponse,
    { workspace, session }: { workspace: string; session: string },
    batch: HonchoMessageCreate[],
  ): void {
    const outcome = this.state.addMessages(workspace, session, batch);
    if (outcome.kind === 'duplicate') {
      this.tally.duplicates++;
      this.answer(res, 409, {
        detail: `every message is already stored (by metadata.demo_id; a check of this demo service, not of Honcho): ${outcome.ids.join(', ')}`,
      });
      return;
    }
    if (outcome.kind === 'mixed') {
      this.tally.badRequests++;
      this.answer(res, 422, {
        detail: `some messages are already stored (by metadata.demo_id): ${outcome.stored.join(', ')}`,
      });
      return;
    }
    this.tally.stored++;
    this.answer(res, 201, outcome.messages);
  }

  private fail(res: http.ServerResponse, error: unknown): void {
    if (error instanceof HttpError) {
      this.tally.badRequests++;
      this.answer(res, error.status, { detail: error.detail }, error.headers);
      return;
    }
    // A client that went away mid-body is not an error of ours.
    if (res.destroyed) return;
    console.error('memory service:', error);
    this.answer(res, 500, { detail: 'internal error' });
  }
}

/**
 * Starts a memory service in this process: reads the store, listens on
 * 127.0.0.1 and starts the scenario's clock.
 */
export async function createMemoryService(options: MemoryServiceOptions): Promise<MemoryService> {
  const service = new HttpMemoryService(options);
  await service.start();
  return service;
}
