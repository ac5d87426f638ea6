/**
 * 9. The cost of OpenTelemetry instrumentation per task (issue 15): the same
 * drain of no-op async tasks (chunks of 64, the default `maxQueue`, then
 * `await worker.onIdle()`), by a worker instrumented with
 * `instrument(worker, { meter })` on a real MeterProvider (a periodic reader
 * exporting to the SDK's in-memory exporter) and by one that is not.
 *
 * Time: ns per task. Memory: bytes allocated per task, measured as the heap
 * in use after the drain minus before it, plus whatever every collection
 * during the drain freed (V8's GCProfiler reports each one's heap before and
 * after), so a scavenge mid-sample does not hide allocations.
 *
 * The fate counters and gauges are observable: a task adds nothing to them
 * but the worker's own per-name count. The histogram of run durations is the
 * one call into OpenTelemetry per run, and the difference between the rows
 * is what instrumenting costs; a third row, `durations: false`, has the
 * observable instruments only. The reader's interval is an hour, so no
 * export happens inside a sample; one collection's cost is measured apart.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';
import {
  AggregationTemporality,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { SyncWorker } from '../../src/index.js';
import { instrument, SYNC_WORKER_METRICS } from '../../src/otel/index.js';
import { gc, quick, runCase, type Subject, stats } from '../lib/harness.js';

const CHUNK = 64;
/** Tasks per timed sample. */
const TASKS = quick ? 1 << 14 : 1 << 17;
/** Tasks per memory sample. */
const ALLOC_TASKS = quick ? 4_096 : 16_384;
const COLLECTIONS = quick ? 5 : 50;
const INSTRUMENTED = 'SyncWorker, instrumented';
const NO_DURATIONS = 'SyncWorker, instrumented, durations: false';
const PLAIN = 'SyncWorker, not instrumented';

/** A worker draining no-op tasks named `write`: not instrumented, instrumented, or without the histogram. */
function drainer(instrumented: 'no' | 'yes' | 'no durations') {
  const worker = new SyncWorker();
  let ran = 0;
  const task = {
    name: 'write',
    run: async () => {
      ran++;
    },
  };
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  if (instrumented !== 'no') {
    instrument(worker, { meter: provider.getMeter('bench'), durations: instrumented === 'yes' });
  }
  return {
    get ran() {
      return ran;
    },
    async drain(n: number): Promise<void> {
      for (let done = 0; done < n; done += CHUNK) {
        for (let k = 0; k < CHUNK; k++) worker.enqueue(task);
        await worker.onIdle();
      }
    },
    /** One export; returns the histogram's count of `write` runs, and how long the export took (ms). */
    async collect(): Promise<{ runs: number; ms: number }> {
      exporter.reset();
      const t0 = performance.now();
      await reader.forceFlush();
      const ms = performance.now() - t0;
      const metrics = exporter
        .getMetrics()
        .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
      const histogram = metrics.find((m) => m.descriptor.name === SYNC_WORKER_METRICS.runDuration);
      const point = histogram?.dataPoints[0]?.value as Histogram | undefined;
      return { runs: point?.count ?? 0, ms };
    },
    stats: () => worker.stats(),
  };
}

type Drainer = ReturnType<typeof drainer>;

function timed(name: string, role: Subject['role'], d: Drainer, note: string): Subject {
  return {
    name,
    role,
    note,
    async sample() {
      const t0 = performance.now();
      await d.drain(TASKS);
      return ((performance.now() - t0) * 1e6) / TASKS;
    },
  };
}

/** Bytes allocated per task over one drain of {@link ALLOC_TASKS}, collections included. */
async function allocatedPerTask(d: Drainer): Promise<number> {
  const profiler = new GCProfiler();
  profiler.start();
  const before = getHeapStatistics().used_heap_size;
  await d.drain(ALLOC_TASKS);
  const after = getHeapStatistics().used_heap_size;
  const freed = profiler
    .stop()
    .statistics.reduce(
      (sum, gcEvent) =>
        sum +
        gcEvent.beforeGC.heapStatistics.usedHeapSize -
        gcEvent.afterGC.heapStatistics.usedHeapSize,
      0,
    );
  return (after - before + freed) / ALLOC_TASKS;
}

await runCase({ id: 'otel', title: '9. OpenTelemetry instrumentation, per task' }, async (ctx) => {
  const plain = drainer('no');
  const metered = drainer('yes');
  const counted = drainer('no durations');
  const setup = `new SyncWorker() (maxQueue 64, its own breaker and tracker); a no-op async task named "write"; chunks of ${CHUNK}, then await onIdle()`;
  const withMeter =
    'and instrument(worker, { meter }) on a MeterProvider with a PeriodicExportingMetricReader (interval 1 h) exporting to an InMemoryMetricExporter';
  await ctx.compare(
    {
      id: 'time',
      title: `Drain of ${TASKS.toLocaleString('en-US')} no-op tasks, per task`,
      unit: 'ns/task',
      quantity: 'time',
      note: 'One sample is one drain; the worker of each row is reused across samples, so its caches (and the SDK’s) are warm.',
    },
    [
      timed(INSTRUMENTED, 'subject', metered, `${setup}, ${withMeter}`),
      timed(NO_DURATIONS, 'detail', counted, 'the same, with durations: false'),
      timed(PLAIN, 'baseline', plain, setup),
    ],
    quick
      ? { warmup: 2, rounds: 2, samplesPerRound: 2 }
      : { warmup: 3, rounds: 5, samplesPerRound: 3 },
  );
  await ctx.sampleRounds(
    {
      id: 'memory',
      title: `Bytes allocated per task, over drains of ${ALLOC_TASKS.toLocaleString('en-US')}`,
      unit: 'B/task',
      quantity: 'memory',
      note: 'Heap in use after minus before, plus what each collection during the drain freed (GCProfiler); a full GC before each sample.',
    },
    [
      { name: INSTRUMENTED, role: 'subject', sample: () => allocatedPerTask(metered) },
      { name: NO_DURATIONS, role: 'detail', sample: () => allocatedPerTask(counted) },
      { name: PLAIN, role: 'baseline', sample: () => allocatedPerTask(plain) },
    ],
    { warmup: 1, rounds: quick ? 3 : 10 },
  );
  const over = (group: string, row: string) => ctx.median(group, row) - ctx.median(group, PLAIN);
  ctx.note(
    `Instrumentation costs ${over('time', INSTRUMENTED).toFixed(0)} ns and ${over('memory', INSTRUMENTED).toFixed(0)} bytes per task; with durations: false, ${over('time', NO_DURATIONS).toFixed(0)} ns and ${over('memory', NO_DURATIONS).toFixed(0)} bytes (differences of the medians from the uninstrumented row).`,
  );

  gc();
  const collections: number[] = [];
  let last = { runs: 0, ms: 0 };
  for (let i = 0; i < COLLECTIONS; i++) {
    last = await metered.collect();
    collections.push(last.ms * 1_000);
  }
  ctx.note(
    `One collection of every instrument (the batch callback reads the worker's stats once, then the export): median ${stats(collections).median.toFixed(0)} µs over ${COLLECTIONS}, whatever the number of tasks.`,
  );
  for (const [name, d] of [
    [INSTRUMENTED, metered],
    [NO_DURATIONS, counted],
    [PLAIN, plain],
  ] as const) {
    const s = d.stats();
    ctx.check(
      `${name}: every task ran, none failed or dropped`,
      d.ran === s.completed && s.failed === 0 && s.dropped === 0 && s.refused === 0,
      `ran ${d.ran}, completed ${s.completed}, failed ${s.failed}, dropped ${s.dropped}`,
    );
  }
  ctx.check(
    `${INSTRUMENTED}: the histogram counted every run`,
    last.runs === metered.ran,
    `${last.runs} runs recorded, ${metered.ran} ran`,
  );
});
