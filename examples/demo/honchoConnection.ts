/**
 * One Honcho SDK client and its session objects, as the demo's handler uses
 * them. Three facts of `@honcho-ai/sdk` 2.5.0 (pinned) shape it:
 *
 * - its public methods take no `AbortSignal`, but its HTTP client's
 *   `request(method, path, options)` passes `options.signal` to `fetch`: the
 *   signal of the call in progress is handed to it through an
 *   `AsyncLocalStorage`, so `session.addMessages(...)` is aborted at the
 *   worker's deadline (test/demo/honcho.test.ts checks this still holds);
 * - `honcho.session(id)` posts a get-or-create every time: sessions are cached;
 * - a client's first call ensures its workspace once and keeps that promise,
 *   a rejected one included: a client whose calls never succeeded is rebuilt
 *   after a failure.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Honcho, type Session } from '@honcho-ai/sdk';

/** Where the handler writes: a local demo service or a real Honcho server. */
export interface HonchoTarget {
  baseURL: string;
  apiKey?: string;
  workspaceId: string;
}

type HttpClient = Honcho['http'];
type RequestOptions = NonNullable<Parameters<HttpClient['request']>[2]>;

/** The signal of the handler call whose context this code runs in. */
const callSignal = new AsyncLocalStorage<AbortSignal>();

/** Runs `call` with `signal` given to every request the SDK makes inside it. */
export function withSignal<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  return callSignal.run(signal, call);
}

/** Makes the client's requests carry the current call's signal (unless one is given). */
function threadSignals(http: HttpClient): void {
  const request = http.request.bind(http);
  const withCallSignal = (method: string, path: string, options: RequestOptions = {}) =>
    request(method, path, { ...options, signal: options.signal ?? callSignal.getStore() });
  http.request = withCallSignal as HttpClient['request'];
}

/** A client, rebuilt when its first calls failed, with its sessions cached. */
export class HonchoConnection {
  private honcho: Honcho | undefined;
  /** Whether a call of the current client succeeded: its workspace is known to exist. */
  private confirmed = false;
  private readonly sessions = new Map<string, Session>();
  /** Clients built so far (1 when the first one's calls succeeded). */
  built = 0;

  /**
   * @param target read when a client is built: a resumed run's service listens on a new port.
   * @param timeoutMs the SDK's own timeout, set above the worker's ceiling so the worker's deadline acts.
   */
  constructor(
    private readonly target: () => HonchoTarget,
    private readonly timeoutMs: number,
  ) {}

  /** The current client; `maxRetries: 0`, because the worker retries, with its own backoff and breaker. */
  client(): Honcho {
    if (this.honcho === undefined) {
      const { baseURL, apiKey, workspaceId } = this.target();
      this.honcho = new Honcho({
        baseURL,
        apiKey,
        workspaceId,
        timeout: this.timeoutMs,
        maxRetries: 0,
      });
      threadSignals(this.honcho.http);
      this.confirmed = false;
      this.built++;
    }
    return this.honcho;
  }

  /** The session object of `id`, made by one get-or-create the first time. */
  async session(id: string): Promise<Session> {
    const cached = this.sessions.get(id);
    if (cached) return cached;
    const client = this.client();
    const session = await client.session(id);
    if (client === this.honcho) this.sessions.set(id, session);
    return session;
  }

  /** A call of `client` was answered: its workspace exists. */
  succeeded(client: Honcho): void {
    if (client === this.honcho) this.confirmed = true;
  }

  /** A call of `client` failed: if none of its calls ever succeeded, it may hold a failed workspace promise. */
  failed(client: Honcho): void {
    if (client !== this.honcho || this.confirmed) return;
    this.honcho = undefined;
    this.sessions.clear();
  }
}
