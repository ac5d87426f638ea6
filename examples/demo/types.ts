/**
 * The shapes the demo's parts share: the fault scenario (the service plays
 * it), the messages (the producer makes them, the service stores them), and
 * the run's record (the report draws it).
 */
import type { BreakerState, WorkerState } from '../../src/index.js';

/** The story's phases, in order. `healthy` comes again after `recovery`. */
export type PhaseName = 'healthy' | 'spike' | 'outage' | 'recovery';

/** A log-normal latency: `median · e^(sigma · z)` with z standard normal. */
export interface LatencyModel {
  medianMs: number;
  sigma: number;
}

/**
 * One window of the fault schedule, in ms since the scenario's start. During
 * an outage the service refuses connections (`refuse`: it stops listening)
 * or answers every write with 503 (`unavailable`).
 */
export interface PhaseWindow {
  name: PhaseName;
  startMs: number;
  /** `Infinity` for the last window. */
  endMs: number;
  latency: LatencyModel;
  /** Share of writes answered 500 (after their latency), in [0, 1]. */
  errorRate: number;
  outage?: 'refuse' | 'unavailable';
  /**
   * Slow recovery: latency and error rate start at this window's values and
   * ease linearly to the next window's over its length.
   */
  easesIntoNext?: boolean;
}

/** The whole fault schedule. The same seed always gives the same scenario. */
export interface Scenario {
  seed: number;
  /** The service's first `coldStartMs` after it starts answer `coldStartFactor` times slower, easing to 1. */
  coldStartMs: number;
  coldStartFactor: number;
  windows: PhaseWindow[];
}

/** One message of a conversation, as posted to and stored by the memory service. */
export interface ChatMessage {
  /** Unique across the run: the service refuses a second write of it (409). */
  id: string;
  session: string;
  /** The turn's number in its session, from 0. */
  turn: number;
  role: 'user' | 'assistant';
  text: string;
}

/** The payload of one durable `memory.addMessages` task: one turn's messages, in order. */
export interface AddMessagesPayload {
  session: string;
  turn: number;
  messages: ChatMessage[];
}

/**
 * One turn as the service's listing shows it: consecutive messages of one
 * task, by their `metadata` (see listing.ts). A message without the demo's
 * metadata is a turn of its own, with `turn` -1.
 */
export interface StoredWrite {
  session: string;
  turn: number;
  /** The messages' `metadata.demo_id`s (or Honcho's ids, for a message without them). */
  ids: string[];
}

/** The actors' states at one moment, as short labels (`half_open`, `draining`, `adaptive`, `replaying`…). */
export interface ActorStates {
  breaker: BreakerState | 'none';
  worker: WorkerState;
  tracker: string;
  backlog: string;
}

/** One point of the run's timeline, taken every few tens of ms. */
export interface TimelineSample {
  /** ms since the run started. */
  t: number;
  phase: PhaseName;
  actors: ActorStates;
  /** Tasks waiting in memory. */
  queued: number;
  /** Durable tasks accepted and not yet delivered. */
  backlog: number;
  /** The adaptive timeout the next task would get. */
  timeoutMs: number;
  /** The tracker's p95, once warm. */
  p95Ms: number | undefined;
  /** Tasks delivered so far (this run). */
  delivered: number;
  /** Tasks enqueued so far (this run). */
  produced: number;
  /** Handler calls in flight (at most `concurrency`). */
  running?: number;
}

/**
 * How one handler call ended. `duplicate` is a 409: already stored, so
 * delivered. `error` a 5xx or 429; `rejected` another 4xx (a 422: the batch
 * mixed stored and new messages, and is split).
 */
export type CallOutcome = 'stored' | 'duplicate' | 'error' | 'refused' | 'timeout' | 'rejected';

/** One handler call as the application saw it. */
export interface CallSample {
  /** ms since the run started, at the call's end. */
  t: number;
  durationMs: number;
  outcome: CallOutcome;
  /** Messages the call carried (two per turn); absent in records made before batches. */
  messages?: number;
}

/** A state change of one actor. */
export interface StateChange {
  t: number;
  actor: keyof ActorStates;
  from: string;
  to: string;
}

/** Everything the HTML report draws. */
export interface RunRecord {
  title: string;
  /** ISO time of the start. */
  startedAt: string;
  /** ms from start to end. */
  durationMs: number;
  /** The command line's options, as `--name value` pairs, for the header. */
  options: Record<string, string | number | boolean>;
  scenario: Scenario;
  /** ms since the run started at which the scenario started (the service's t = 0). */
  scenarioOffsetMs: number;
  samples: TimelineSample[];
  calls: CallSample[];
  changes: StateChange[];
  /** The summary table, in order. */
  summary: [label: string, value: string][];
  /** The end check. */
  verdict: { ok: boolean; lines: string[] };
  /**
   * The states each machine visited, by machine file stem (`breaker`,
   * `worker`, `latency`, `backlog`), as XState state ids (machine id, then
   * the path), such as `breaker.half_open`, `worker.active.drain.blocked` or
   * `tracker.adaptive.tracking` (the latency machine's id is `tracker`).
   */
  visited: Record<string, string[]>;
}
