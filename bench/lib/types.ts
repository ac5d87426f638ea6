/** The data a benchmark run produces; `npm run bench -- --json out.json` writes a {@link RunResult}. */

/** Who a row measures: the library, a peer library, a reference point, or a detail (no ratio). */
export type Role = 'subject' | 'peer' | 'baseline' | 'detail';

/** What a group's numbers are, which decides the words of its ratios. */
export type Quantity = 'time' | 'throughput' | 'memory';

/** Order statistics of one row's samples, in the group's unit. */
export interface Stats {
  median: number;
  p25: number;
  p75: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
  /** How many samples the statistics are over. */
  samples: number;
}

export interface Row {
  name: string;
  role: Role;
  stats: Stats;
  /** How the row is set up, shown under the table. */
  note?: string;
}

/** Rows measured in the same child process, comparable with one another. */
export interface Group {
  id: string;
  title: string;
  /** e.g. `ns/op`, `tasks/s`, `KiB`. */
  unit: string;
  quantity: Quantity;
  /** `latency` tables show p50, p99 and max; the default shows median and spreads. */
  columns?: 'default' | 'latency';
  /** What one sample is, how the load is made, and so on. */
  note?: string;
  rows: Row[];
  /**
   * The subject's ratio to each peer and baseline row: how many times better
   * the subject is (> 1: faster, higher throughput or less memory).
   */
  ratios: { peer: string; timesBetter: number }[];
}

/** A target from the issue, evaluated on the medians of this run. */
export interface Target {
  id: string;
  description: string;
  measured: number;
  comparator: '<=' | '>=';
  threshold: number;
  /** How `measured` and `threshold` are shown, e.g. `×` or ` KiB`. */
  unit: string;
  met: boolean;
}

/** A correctness check; a failed check fails the run. */
export interface Check {
  description: string;
  ok: boolean;
  detail?: string;
}

export interface CaseResult {
  id: string;
  title: string;
  groups: Group[];
  targets: Target[];
  checks: Check[];
  notes: string[];
  /** Extra series, e.g. the heap over time. */
  series: Record<string, number[]>;
  durationMs: number;
}

/** What the parent records of one child. */
export interface CaseOutcome {
  file: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  error?: string;
  result?: CaseResult;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  arch: string;
  node: string;
  v8: string;
  loadAverageStart: number[];
  loadAverageEnd: number[];
  commit: string;
  packages: Record<string, string>;
}

export interface RunResult {
  startedAt: string;
  quick: boolean;
  durationMs: number;
  machine: Machine;
  ok: boolean;
  cases: CaseOutcome[];
}

/** The message a child sends its parent over IPC. */
export type ChildMessage =
  | { type: 'result'; result: CaseResult }
  | { type: 'error'; error: string; partial?: CaseResult };
