/**
 * The memory service the demo writes to: a real HTTP server on 127.0.0.1
 * with an append-only JSONL store, playing a fault scenario. It is slow,
 * fails some writes, refuses connections or answers 503, as the scenario's
 * window says. A write commits after its latency even when the client has
 * given up, so a retry of it finds it stored (409), as with a real service.
 *
 * `createMemoryService` runs it in this process (tests); `startServiceProcess`
 * (serviceProcess.ts) runs it in a child process (the demo). The store is in
 * serviceStore.ts.
 */
import fs from 'node:fs';
import http from 'node:http';
import { hashSeed, logNormal, mulberry32 } from './random.js';
import { phaseAt } from './scenario.js';
import { openStore } from './serviceStore.js';
import type {
  AddMessagesPayload,
  ChatMessage,
  LatencyModel,
  PhaseWindow,
  Scenario,
  StoredWrite,
} from './types.js';

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
  turn: number;
  ids: string[];
  /** The latency it waits before it commits (or fails with a 500). */
  delayMs: number;
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
  /** Client mistakes: 400, 404, 405 and 422 (a partly stored write). */
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

/** A failure with an HTTP status, turned into a JSON answer. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/* --------------------------------------------------------------- requests */

function isChatMessage(value: unknown): value is ChatMessage {
  const message = value as ChatMessage;
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof message.id === 'string' &&
    message.id !== '' &&
    typeof message.session === 'string' &&
    Number.isInteger(message.turn) &&
    (message.role === 'user' || message.role === 'assistant') &&
    typeof message.text === 'string'
  );
}

/** The payload, checked against the URL's session; throws a 400 `HttpError` saying what is wrong. */
function validatePayload(body: unknown, session: string): AddMessagesPayload {
  const payload = body as AddMessagesPayload;
  const bad = (why: string) => new HttpError(400, why);
  if (typeof payload !== 'object' || payload === null) throw bad('the body must be a JSON object');
  if (payload.session !== session) throw bad(`session must be "${session}", as in the URL`);
  if (!Number.isInteger(payload.turn) || payload.turn < 0) {
    throw bad('turn must be a non-negative integer');
  }
  if (!Array.isArray(payload.messages) || payload.messages.length === 0) {
    throw bad('messages must be a non-empty array');
  }
  for (const message of payload.messages) {
    if (!isChatMessage(message))
      throw bad('each message needs a string id, session, turn, role and text');
    if (message.session !== session || message.turn !== payload.turn) {
      throw bad(`message ${message.id} belongs to another session or turn`);
    }
  }
  const ids = payload.messages.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw bad('message ids must be unique');
  return payload;
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
        reject(new HttpError(400, `the body exceeds ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before the body ended'));
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

type Route = { kind: 'health' } | { kind: 'messages'; session: string };

const MESSAGES_PATH = /^\/v1\/sessions\/([^/]+)\/messages$/;

/** The route a request's path names, with the method it takes; `undefined` for an unknown path. */
function routeOf(pathname: string): { route: Route; method: string } | undefined {
  if (pathname === '/v1/health') return { route: { kind: 'health' }, method: 'GET' };
  const match = MESSAGES_PATH.exec(pathname);
  if (match === null) return undefined;
  let session: string;
  try {
    session = decodeURIComponent(match[1] as string);
  } catch {
    throw new HttpError(400, 'the session in the URL is not valid percent-encoding');
  }
  return { route: { kind: 'messages', session }, method: 'POST' };
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
  private readonly file: string;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly known: Set<string>;
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
    this.file = options.file;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.known = openStore(options.file);
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
    if (window.outage === 'unavailable') {
      this.tally.unavailable++;
      send(res, 503, { error: 'service unavailable' }, { 'retry-after': '1' });
      return;
    }
    const pathname = new URL(req.url ?? '/', this.url).pathname;
    const found = routeOf(pathname);
    if (found === undefined) throw new HttpError(404, `no route for ${pathname}`);
    if (req.method !== found.method) {
      this.tally.badRequests++;
      send(res, 405, { error: `use ${found.method}` }, { allow: found.method });
      return;
    }
    if (found.route.kind === 'health') {
      send(res, 200, { phase: window.name });
      return;
    }
    await this.addMessages(req, res, found.route.session, window, t);
  }

  private async addMessages(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    session: string,
    window: PhaseWindow,
    t: number,
  ): Promise<void> {
    const payload = validatePayload(parseJson(await readBody(req)), session);
    const ids = payload.messages.map((m) => m.id);
    const random = this.randomFor(ids[0] as string);
    const { latency, errorRate } = conditionsAt(this.scenario, window, t);
    const delayMs = logNormal(random, latency) * coldStartFactorAt(this.scenario, t);
    const failed = random() < errorRate;
    this.options.onArrival?.({ session, turn: payload.turn, ids, delayMs });
    // The wait ends whether or not the client is still there: a write it gave up on still lands.
    if (!(await this.wait(delayMs))) return;
    if (failed) {
      this.tally.errors++;
      send(res, 500, { error: 'internal error (injected)' });
      return;
    }
    this.commit(res, payload, ids);
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

  private commit(res: http.ServerResponse, payload: AddMessagesPayload, ids: string[]): void {
    const stored = ids.filter((id) => this.known.has(id));
    if (stored.length === ids.length) {
      this.tally.duplicates++;
      send(res, 409, { duplicate: ids });
      return;
    }
    if (stored.length > 0) {
      throw new HttpError(422, `some messages are already stored: ${stored.join(', ')}`);
    }
    const write: StoredWrite = {
      session: payload.session,
      turn: payload.turn,
      ids,
      storedAt: Date.now(),
    };
    // Synchronous, so a write acknowledged is on disk even if the demo is SIGKILLed next.
    fs.appendFileSync(this.file, `${JSON.stringify(write)}\n`);
    for (const id of ids) this.known.add(id);
    this.tally.stored++;
    send(res, 201, { stored: ids.length });
  }

  private fail(res: http.ServerResponse, error: unknown): void {
    if (error instanceof HttpError) {
      this.tally.badRequests++;
      send(res, error.status, { error: error.message });
      return;
    }
    // A client that went away mid-body is not an error of ours.
    if (res.destroyed) return;
    console.error('memory service:', error);
    send(res, 500, { error: 'internal error' });
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
