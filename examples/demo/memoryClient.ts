/**
 * The durable handler: posts one turn's messages to the memory service with
 * `fetch`, under the task's `signal`, and records how each call ended.
 */
import { type DurableContext, NonRetryableError } from '../../src/index.js';
import type { AddMessagesPayload, CallOutcome, CallSample } from './types.js';

/** Calls by outcome. */
export type CallCounts = Record<CallOutcome, number>;

/** What the handler needs from the run: where the service is and the run's clock. */
export interface MemoryClientOptions {
  /** The service's base URL; read per call, as a resumed run's service listens on a new port. */
  baseUrl: () => string;
  /** ms since the run started. */
  now: () => number;
  onCall?: (call: CallSample) => void;
}

/** A 5xx or a refused connection: worth a retry. */
class RemoteUnavailableError extends Error {
  override readonly name = 'RemoteUnavailableError';
}

function outcomeOfStatus(status: number): CallOutcome {
  if (status === 201) return 'stored';
  if (status === 409) return 'duplicate';
  return 'error';
}

/** Turns a rejected fetch into the error the worker should see, and its outcome. */
function failureOf(error: unknown, signal: AbortSignal): { outcome: CallOutcome; error: unknown } {
  // The worker aborted the call at its adaptive timeout: its reason is the TaskTimeoutError.
  if (signal.aborted) return { outcome: 'timeout', error: signal.reason ?? error };
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? 'network error';
  return {
    outcome: 'refused',
    error: new RemoteUnavailableError(`memory service unreachable (${code})`, { cause: error }),
  };
}

/**
 * Makes the `memory.addMessages` handler. A 201 is stored; a 409 means an
 * earlier attempt already landed (its answer was lost to a timeout or a
 * crash), so it counts as delivered too. A 5xx is retried; any other 4xx is
 * a bug a retry cannot fix, so it is a `NonRetryableError`.
 */
export function memoryClient(options: MemoryClientOptions) {
  const counts: CallCounts = { stored: 0, duplicate: 0, error: 0, refused: 0, timeout: 0 };
  const record = (outcome: CallOutcome, startedAt: number) => {
    counts[outcome]++;
    const t = options.now();
    options.onCall?.({ t, durationMs: t - startedAt, outcome });
  };

  async function addMessages(payload: AddMessagesPayload, context: DurableContext): Promise<void> {
    const startedAt = options.now();
    const url = `${options.baseUrl()}/v1/sessions/${encodeURIComponent(payload.session)}/messages`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': context.id },
        body: JSON.stringify(payload),
        signal: context.signal,
      });
    } catch (thrown) {
      const failure = failureOf(thrown, context.signal);
      record(failure.outcome, startedAt);
      throw failure.error;
    }
    const body = await response.text().catch(() => '');
    record(outcomeOfStatus(response.status), startedAt);
    if (response.status === 201 || response.status === 409) return;
    const message = `memory service answered HTTP ${response.status} ${body.slice(0, 120)}`;
    if (response.status >= 500) throw new RemoteUnavailableError(message);
    throw new NonRetryableError(message);
  }

  return { addMessages, counts };
}
