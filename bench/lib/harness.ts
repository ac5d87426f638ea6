/**
 * The child side of the harness. A case file calls {@link runCase}; it
 * measures in its own process and sends a {@link CaseResult} to the parent
 * over IPC (or prints it when run on its own:
 * `node --import tsx --expose-gc bench/cases/01-producer-busy.ts`).
 */
import { measure } from 'mitata';
import { renderCase } from './report.js';
import type {
  CaseResult,
  Check,
  ChildMessage,
  Group,
  Quantity,
  Role,
  Row,
  Stats,
  Target,
} from './types.js';

/** `--quick`: the parent sets `BENCH_QUICK=1`. Cases shrink their sizes and sample counts. */
export const quick = process.env.BENCH_QUICK === '1';

/** A full collection with `--expose-gc` (the parent always passes it). */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run the case with node --expose-gc');
  collect();
  collect();
}

/** Heap in use after a full collection, in bytes. */
export function heapAfterGc(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Order statistics (nearest rank) of `values`. */
export function stats(values: readonly number[]): Stats {
  if (values.length === 0) throw new Error('no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  const n = sorted.length;
  const median =
    n % 2 === 1
      ? (sorted[(n - 1) / 2] as number)
      : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2;
  return {
    median,
    p25: at(0.25),
    p75: at(0.75),
    p99: at(0.99),
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
    mean: sorted.reduce((sum, v) => sum + v, 0) / n,
    samples: n,
  };
}

/** Runs `fn` from `depth` extra stack frames down, so stack captures see a realistic stack. */
export function atDepth<T>(depth: number, fn: () => T): T {
  return depth <= 0 ? fn() : atDepth(depth - 1, fn);
}

/** One row to measure: `sample()` runs one sample and returns its value in the group's unit. */
export interface Subject {
  name: string;
  role: Role;
  note?: string;
  /** Runs the measured work once and returns e.g. ns per op or tasks/s. Set-up it does is not timed. */
  sample: () => number | Promise<number>;
}

export interface GroupSpec {
  id: string;
  title: string;
  unit: string;
  quantity: Quantity;
  columns?: 'default' | 'latency';
  note?: string;
}

export interface CompareOptions {
  /** Samples taken (and discarded) per subject before measuring… */
  warmup: number;
  /** …or fewer, once this much time has gone into the subject's warm-up (ms). Default: no limit. */
  warmupMs?: number;
  /** The subjects take turns this many times, so drift in machine load hits them alike. */
  rounds: number;
  /** At least this many samples per subject per round. */
  samplesPerRound: number;
  /** And keep sampling a round until this much wall time has passed (ms). Default 0. */
  minRoundMs?: number;
}

type Manual = () => number | Promise<number>;
type MeasureManual = (
  gen: () => Generator<{ manual: Manual; budget: 'real' }>,
  options: Record<string, number | boolean>,
) => Promise<{ samples: number[] }>;

/** Lower is better for time and memory, higher for throughput. */
function timesBetter(quantity: Quantity, subject: number, peer: number): number {
  return quantity === 'throughput' ? subject / peer : peer / subject;
}

export class CaseContext {
  readonly quick = quick;
  readonly groups: Group[] = [];
  readonly targets: Target[] = [];
  readonly checks: Check[] = [];
  readonly notes: string[] = [];
  readonly series: Record<string, number[]> = {};

  /**
   * Measures every subject with mitata (manual timing: each `sample()` returns
   * its own value, so set-up and reset between samples are not timed), in
   * interleaved rounds, and records the group.
   */
  async compare(spec: GroupSpec, subjects: Subject[], options: CompareOptions): Promise<Group> {
    const values: number[][] = subjects.map(() => []);
    for (const subject of subjects) {
      const until = performance.now() + (options.warmupMs ?? Number.POSITIVE_INFINITY);
      for (let i = 0; i < options.warmup && (i === 0 || performance.now() < until); i++) {
        await subject.sample();
      }
    }
    const measureManual = measure as unknown as MeasureManual;
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, subject] of subjects.entries()) {
        const result = await measureManual(
          function* () {
            // budget 'real': the round's time budget counts set-up too, so a round ends on time.
            yield { manual: subject.sample, budget: 'real' };
          },
          {
            min_samples: options.samplesPerRound,
            min_cpu_time: (options.minRoundMs ?? 0) * 1e6,
            warmup_samples: 0,
          },
        );
        values[i]?.push(...result.samples);
      }
    }
    return this.addSampled(spec, subjects, values);
  }

  /** Adds a group from each subject's samples, in the subjects' order. */
  private addSampled(spec: GroupSpec, subjects: readonly Subject[], values: number[][]): Group {
    return this.addGroup(
      spec,
      subjects.map((subject, i) => ({
        name: subject.name,
        role: subject.role,
        stats: stats(values[i] ?? []),
        ...(subject.note === undefined ? {} : { note: subject.note }),
      })),
    );
  }

  /**
   * Like {@link compare}, for samples that each take a long time (tens of ms
   * to seconds, such as a run against a simulated remote): every subject
   * takes exactly `warmup` samples, then one sample per round in turns, with
   * a full GC before each. mitata is not used, because it calls the function
   * once more per round to see whether it is async, which would double such
   * a case's time. A subject with `rounds` takes part in only its first
   * `rounds` rounds (a very long sample: one is enough).
   */
  async sampleRounds(
    spec: GroupSpec,
    subjects: (Subject & { rounds?: number })[],
    options: { warmup: number; rounds: number },
  ): Promise<Group> {
    const values: number[][] = subjects.map(() => []);
    for (const subject of subjects) {
      for (let i = 0; i < options.warmup; i++) await subject.sample();
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, subject] of subjects.entries()) {
        if (round >= (subject.rounds ?? options.rounds)) continue;
        gc();
        values[i]?.push(await subject.sample());
      }
    }
    return this.addSampled(spec, subjects, values);
  }

  /** Records a group measured by the case itself (memory, latency). */
  addGroup(spec: GroupSpec, rows: Row[]): Group {
    const subjects = rows.filter((row) => row.role === 'subject');
    if (subjects.length !== 1) throw new Error(`group ${spec.id}: exactly one subject row`);
    const subject = subjects[0] as Row;
    const ratios = rows
      .filter((row) => row.role === 'peer' || row.role === 'baseline')
      .map((row) => ({
        peer: row.name,
        timesBetter: timesBetter(spec.quantity, subject.stats.median, row.stats.median),
      }));
    const group: Group = { ...spec, rows, ratios };
    this.groups.push(group);
    return group;
  }

  /** The median of a row measured earlier in this case. */
  median(groupId: string, rowName: string): number {
    const row = this.groups
      .find((group) => group.id === groupId)
      ?.rows.find((candidate) => candidate.name === rowName);
    if (row === undefined) throw new Error(`no row "${rowName}" in group "${groupId}"`);
    return row.stats.median;
  }

  /** Records a target; `measured` is usually a ratio of medians. */
  target(
    id: string,
    description: string,
    measured: number,
    comparator: '<=' | '>=',
    threshold: number,
    unit = '×',
  ): void {
    const met = comparator === '<=' ? measured <= threshold : measured >= threshold;
    this.targets.push({ id, description, measured, comparator, threshold, unit, met });
  }

  /** Records a correctness check. A failed check fails the run (exit code 1). */
  check(description: string, ok: boolean, detail?: string): void {
    this.checks.push({ description, ok, ...(detail === undefined ? {} : { detail }) });
  }

  note(text: string): void {
    this.notes.push(text);
  }
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Runs a case in this process and reports it to the parent (or prints it when run alone). */
export async function runCase(
  meta: { id: string; title: string },
  body: (ctx: CaseContext) => Promise<void>,
): Promise<void> {
  const ctx = new CaseContext();
  const started = performance.now();
  const result = (): CaseResult => ({
    id: meta.id,
    title: meta.title,
    groups: ctx.groups,
    targets: ctx.targets,
    checks: ctx.checks,
    notes: ctx.notes,
    series: ctx.series,
    durationMs: performance.now() - started,
  });
  let exitCode = 0;
  try {
    await body(ctx);
    const done = result();
    if (process.send === undefined) process.stdout.write(`${renderCase(done)}\n`);
    await send({ type: 'result', result: done });
    if (done.checks.some((check) => !check.ok)) exitCode = 1;
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`case ${meta.id} failed: ${text}\n`);
    await send({ type: 'error', error: text, partial: result() });
    exitCode = 1;
  }
  // Peers (opossum's rolling windows, say) may hold timers; the result is in, so leave now.
  process.exit(exitCode);
}
