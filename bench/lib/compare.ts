/**
 * The arithmetic of `bench/compare.ts`: gathers the rows of several runs of
 * `npm run bench -- --json`, side by side for a before and an after checkout,
 * and decides per row whether the after side regressed.
 */
import type { Quantity, Role, RunResult } from './types.js';

/** A change smaller than this fraction of the before value is never a regression. */
export const THRESHOLD = 0.1;

/** One row's statistics in one run: its median and its spread (p25–p75). */
interface RunSample {
  median: number;
  p25: number;
  p75: number;
}

/** What names a row across runs and sides, and how to read its numbers. */
export interface RowKey {
  caseId: string;
  groupId: string;
  row: string;
  /** A change in a peer or baseline row, whose code is the same on both sides, is the machine's drift. */
  role: Role;
  unit: string;
  quantity: Quantity;
}

/** One row (case, table, row name) across the runs of one side. */
export interface RowSeries extends RowKey {
  samples: RunSample[];
}

/** What one side's runs say about a row. */
export interface Side {
  /** The median of the runs' medians. */
  median: number;
  /** The smallest and largest of the runs' medians. */
  min: number;
  max: number;
  /** The union of the runs' spreads: the lowest p25 to the highest p75. */
  spreadLow: number;
  spreadHigh: number;
  runs: number;
}

export type Verdict = 'regression' | 'better' | 'ok' | 'new' | 'gone';

/** One line of the comparison; `before` or `after` is missing for `new` and `gone` rows. */
export interface Comparison extends RowKey {
  before?: Side;
  after?: Side;
  /** after ÷ before, of the medians of medians. */
  ratio?: number;
  verdict: Verdict;
}

/**
 * The key of a row: rows are matched by case id, table (group) id, row name
 * and unit, so a row whose unit changed shows as gone and new.
 */
function keyOf(caseId: string, groupId: string, row: string, unit: string): string {
  return JSON.stringify([caseId, groupId, row, unit]);
}

/** Every row of every run, per key, in the order the rows first appear. */
export function collect(runs: readonly RunResult[]): Map<string, RowSeries> {
  const rows = new Map<string, RowSeries>();
  for (const run of runs) {
    for (const outcome of run.cases) {
      const result = outcome.result;
      if (result === undefined) continue;
      for (const group of result.groups) {
        for (const row of group.rows) {
          const key = keyOf(result.id, group.id, row.name, group.unit);
          const series = rows.get(key) ?? {
            caseId: result.id,
            groupId: group.id,
            row: row.name,
            role: row.role,
            unit: group.unit,
            quantity: group.quantity,
            samples: [],
          };
          const { median, p25, p75 } = row.stats;
          series.samples.push({ median, p25, p75 });
          rows.set(key, series);
        }
      }
    }
  }
  return rows;
}

/** The median of a non-empty list. */
function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Sums up one side's runs of a row. */
export function side(series: RowSeries): Side {
  const medians = series.samples.map((s) => s.median);
  return {
    median: medianOf(medians),
    min: Math.min(...medians),
    max: Math.max(...medians),
    spreadLow: Math.min(...series.samples.map((s) => s.p25)),
    spreadHigh: Math.max(...series.samples.map((s) => s.p75)),
    runs: series.samples.length,
  };
}

/** Higher is better for throughput; lower for time and memory. */
export function higherIsBetter(quantity: Quantity): boolean {
  return quantity === 'throughput';
}

function within(value: number, of: Side): boolean {
  return value >= of.spreadLow && value <= of.spreadHigh;
}

/**
 * `regression` when after is more than {@link THRESHOLD} worse than before
 * (in the direction that is worse for the quantity) and the two sides are
 * apart: after's median lies outside before's spread and before's median
 * outside after's. `better` for the same the other way round; else `ok`.
 */
export function verdict(quantity: Quantity, before: Side, after: Side): Verdict {
  if (before.median === 0 || !Number.isFinite(before.median)) return 'ok';
  const change = (after.median - before.median) / Math.abs(before.median);
  const worse = higherIsBetter(quantity) ? -change : change;
  const apart = !within(after.median, before) && !within(before.median, after);
  if (!apart) return 'ok';
  if (worse > THRESHOLD) return 'regression';
  if (worse < -THRESHOLD) return 'better';
  return 'ok';
}

/**
 * The keys of both sides in one list: after's order, with each row that only
 * before has placed just after the row that preceded it in before.
 */
function mergeOrder(before: readonly string[], after: readonly string[]): string[] {
  const inAfter = new Set(after);
  const merged = [...after];
  let anchor = -1;
  for (const key of before) {
    if (inAfter.has(key)) {
      anchor = merged.indexOf(key);
    } else {
      anchor += 1;
      merged.splice(anchor, 0, key);
    }
  }
  return merged;
}

/** One comparison per row that either side has, `new` and `gone` for rows only one side has. */
export function compareRuns(
  beforeRuns: readonly RunResult[],
  afterRuns: readonly RunResult[],
): Comparison[] {
  const before = collect(beforeRuns);
  const after = collect(afterRuns);
  return mergeOrder([...before.keys()], [...after.keys()]).map((key) => {
    const b = before.get(key);
    const a = after.get(key);
    const series = (a ?? b) as RowSeries;
    const base = {
      caseId: series.caseId,
      groupId: series.groupId,
      row: series.row,
      role: series.role,
      unit: series.unit,
      quantity: series.quantity,
    };
    if (b === undefined) return { ...base, after: side(series), verdict: 'new' };
    if (a === undefined) return { ...base, before: side(series), verdict: 'gone' };
    const sb = side(b);
    const sa = side(a);
    return {
      ...base,
      before: sb,
      after: sa,
      ratio: sa.median / sb.median,
      verdict: verdict(series.quantity, sb, sa),
    };
  });
}
