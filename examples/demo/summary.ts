/**
 * The numbers a run ends with: the summary table printed at the end and shown
 * in the report.
 */
import type { SyncWorkerStats } from '../../src/index.js';
import type { CallCounts } from './honchoClient.js';
import type { CallSample, StateChange, TimelineSample } from './types.js';
import type { Verdict } from './verify.js';

/** Tasks that waited behind the open breaker, and what became of them. */
export class BacklogTally {
  private readonly waiting = new Map<string, boolean>();
  /** Tasks that were kept while the remote was down. */
  backlogged = 0;
  /** Of those, delivered after it came back; after a restart, every task delivered from disk. */
  replayed = 0;

  /** A task was accepted; `remoteDown` when the breaker was not closed. */
  accepted(id: string, remoteDown: boolean): void {
    this.waiting.set(id, remoteDown);
    if (remoteDown) this.backlogged++;
  }

  /** The breaker opened: everything still waiting now waits for the remote. */
  breakerOpened(): void {
    for (const [id, kept] of this.waiting) {
      if (!kept) {
        this.waiting.set(id, true);
        this.backlogged++;
      }
    }
  }

  /** A task was delivered. One this run never saw was kept by an earlier, killed run. */
  delivered(id: string): void {
    const kept = this.waiting.get(id);
    this.waiting.delete(id);
    if (kept === undefined) {
      this.backlogged++;
      this.replayed++;
    } else if (kept) {
      this.replayed++;
    }
  }
}

/** ms spent in each breaker state, from the breaker's changes. */
export function timeInBreakerStates(
  changes: readonly StateChange[],
  endMs: number,
): Map<string, number> {
  const spent = new Map<string, number>();
  let state = 'closed';
  let since = 0;
  for (const change of changes) {
    if (change.actor !== 'breaker') continue;
    spent.set(state, (spent.get(state) ?? 0) + change.t - since);
    state = change.to;
    since = change.t;
  }
  spent.set(state, (spent.get(state) ?? 0) + endMs - since);
  return spent;
}

/** The lowest and highest of the adaptive values (the tracker warm), or undefined. */
function range(values: readonly number[]): string {
  if (values.length === 0) return '–';
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  return `${Math.round(low)}–${Math.round(high)} ms`;
}

const secondsOf = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What the summary is made from. */
export interface SummaryInput {
  stats: SyncWorkerStats;
  calls: CallCounts;
  tally: BacklogTally;
  verdict: Verdict;
  samples: readonly TimelineSample[];
  changes: readonly StateChange[];
  durationMs: number;
  produced: number;
  /** Every handler call, with the messages it carried. */
  callSamples: readonly CallSample[];
  /** The worker's `concurrency`. */
  concurrency: number;
}

/** `412 calls, 4.9 messages a call (up to 100)`: how full the batches were. */
export function describeCalls(calls: readonly CallSample[]): string {
  const sizes = calls.flatMap((c) => (c.messages === undefined ? [] : [c.messages]));
  if (sizes.length === 0) return `${calls.length} calls`;
  const mean = sizes.reduce((sum, n) => sum + n, 0) / sizes.length;
  return `${calls.length} calls, ${mean.toFixed(1)} messages a call (up to ${Math.max(...sizes)})`;
}

/** `up to 8 of 8 calls in flight`: the most runs the samples saw at once. */
export function describeConcurrency(
  samples: readonly TimelineSample[],
  concurrency: number,
): string {
  const most = samples.reduce((max, s) => Math.max(max, s.running ?? 0), 0);
  return `up to ${most} of ${concurrency} calls in flight`;
}

/** The summary table's rows, in order. */
export function summarize(input: SummaryInput): [string, string][] {
  const { stats, calls, tally, verdict, samples } = input;
  const breaker = timeInBreakerStates(input.changes, input.durationMs);
  const adaptive = samples.filter((s) => s.actors.tracker.startsWith('adaptive'));
  return [
    ['turns produced (this run)', String(input.produced)],
    ['delivered (this run)', `${stats.completed} turns`],
    ['listed by the service (all runs)', `${verdict.turns} turns, ${verdict.messages} messages`],
    ['handler calls (batches)', describeCalls(input.callSamples)],
    ['concurrency in use', describeConcurrency(samples, input.concurrency)],
    ['deduplicated (409: had landed)', String(calls.duplicate)],
    ['retried', String(stats.retried)],
    ['kept while the remote was down', String(tally.backlogged)],
    ['replayed from the backlog', String(tally.replayed)],
    [
      'failed calls',
      `${calls.error} 5xx, ${calls.refused} refused, ${calls.timeout} timeouts, ${calls.rejected} 422s`,
    ],
    ['dead letters', String(stats.deadLettered)],
    [
      'time per breaker state',
      ['closed', 'open', 'half_open']
        .map((state) => `${state} ${secondsOf(breaker.get(state) ?? 0)}`)
        .join(', '),
    ],
    ['adaptive timeout range', range(adaptive.map((s) => s.timeoutMs))],
    ['p95 range', range(adaptive.flatMap((s) => (s.p95Ms === undefined ? [] : [s.p95Ms])))],
    ['elapsed', secondsOf(input.durationMs)],
  ];
}

/** The table as aligned text lines (within 80 columns for the demo's rows). */
export function formatTable(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}
