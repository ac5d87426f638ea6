/**
 * The durable batch handler: `session.addMessages(...)` of Honcho's official
 * SDK, under the batch's `signal`, recording how each call ended. The rules:
 *
 * - `signal.throwIfAborted()` before each SDK call, since the SDK sends a
 *   request even when its signal is already aborted; an aborted call
 *   rethrows `signal.reason` (the worker's `TaskTimeoutError`), not the SDK's
 *   `TimeoutError` that the abort surfaces as;
 * - `ConflictError` (409) counts as delivered: the demo service says every
 *   message of the batch is stored already (real Honcho never answers 409);
 * - 5xx, 429, refused connections and the SDK's own `TimeoutError` are
 *   retried; any other 4xx is a `NonRetryableError`, and `countsAgainstBreaker`
 *   keeps answered 4xx out of the breaker: the remote answered.
 */
import {
  ConflictError,
  ConnectionError,
  HonchoError,
  RateLimitError,
  TimeoutError,
} from '@honcho-ai/sdk';
import { type DurableBatchContext, NonRetryableError } from '../../src/index.js';
import { HonchoConnection, type HonchoTarget, withSignal } from './honchoConnection.js';
import type { DemoMetadata } from './honchoTypes.js';
import type { AddMessagesPayload, CallOutcome, CallSample } from './types.js';

/** Calls by outcome. */
export type CallCounts = Record<CallOutcome, number>;

/** What the handler needs from the run. */
export interface HonchoClientOptions {
  /** Where to write; read when a client is built. */
  target: () => HonchoTarget;
  /** The latency tracker's `ceilingMs`: the SDK's own timeout is twice that, so the worker's deadline acts first. */
  ceilingMs: number;
  /** ms since the run started. */
  now: () => number;
  onCall?: (call: CallSample) => void;
}

/** An SDK answer with a 4xx status other than 409 and 429: the request itself is at fault. */
function isRejection(error: unknown): error is HonchoError {
  return (
    error instanceof HonchoError &&
    error.status >= 400 &&
    error.status < 500 &&
    !(error instanceof RateLimitError) &&
    !(error instanceof ConflictError)
  );
}

/**
 * The worker's `countsAsFailure`: a `NonRetryableError` made of an answered
 * 4xx is not the remote failing, so it counts as a breaker success.
 */
export function countsAgainstBreaker(error: Error): boolean {
  return !(error instanceof NonRetryableError && isRejection(error.cause));
}

/**
 * What the handler makes of an SDK error (the call's signal not aborted):
 * `delivered` for a 409, `reject` (a `NonRetryableError`) for another answered
 * 4xx, `retry` for the rest: 5xx, 429, refused connections, the SDK's timeout.
 */
export function verdictOf(error: unknown): 'delivered' | 'reject' | 'retry' {
  if (error instanceof ConflictError) return 'delivered';
  return isRejection(error) ? 'reject' : 'retry';
}

function outcomeOf(error: unknown): CallOutcome {
  if (error instanceof ConnectionError) return 'refused';
  if (error instanceof TimeoutError) return 'timeout';
  if (isRejection(error)) return 'rejected';
  return 'error';
}

/** The SDK's messages of one turn: our ids go in `metadata`, which Honcho stores and ignores. */
function messagesOf(payload: AddMessagesPayload, taskId: string) {
  return payload.messages.map((message) => {
    const metadata: DemoMetadata = { demo_id: message.id, task_id: taskId, turn: payload.turn };
    return { peerId: message.role, content: message.text, metadata: { ...metadata } };
  });
}

/** Makes the `memory.addMessages` batch handler and its counters. */
export function honchoClient(options: HonchoClientOptions) {
  const counts: CallCounts = {
    stored: 0,
    duplicate: 0,
    error: 0,
    refused: 0,
    timeout: 0,
    rejected: 0,
  };
  const connection = new HonchoConnection(options.target, 2 * options.ceilingMs);
  const record = (outcome: CallOutcome, startedAt: number, messages: number) => {
    counts[outcome]++;
    const t = options.now();
    options.onCall?.({ t, durationMs: t - startedAt, outcome, messages });
  };

  async function send(payloads: AddMessagesPayload[], context: DurableBatchContext) {
    const { signal } = context;
    const session = (payloads[0] as AddMessagesPayload).session;
    const messages = payloads.flatMap((p, i) => messagesOf(p, context.ids[i] as string));
    signal.throwIfAborted();
    const target = await connection.session(session);
    signal.throwIfAborted();
    await target.addMessages(messages);
    return messages.length;
  }

  async function addMessages(
    payloads: AddMessagesPayload[],
    context: DurableBatchContext,
  ): Promise<void> {
    const startedAt = options.now();
    const size = payloads.reduce((sum, p) => sum + p.messages.length, 0);
    const client = connection.client();
    try {
      await withSignal(context.signal, () => send(payloads, context));
      connection.succeeded(client);
      record('stored', startedAt, size);
    } catch (error) {
      if (verdictOf(error) === 'delivered') {
        connection.succeeded(client);
        record('duplicate', startedAt, size);
        return;
      }
      connection.failed(client);
      if (context.signal.aborted) {
        record('timeout', startedAt, size);
        throw context.signal.reason;
      }
      record(outcomeOf(error), startedAt, size);
      if (verdictOf(error) === 'reject') {
        const { message } = error as Error;
        throw new NonRetryableError(`Honcho refused the batch: ${message}`, { cause: error });
      }
      throw error;
    }
  }

  return { addMessages, counts, connection };
}
