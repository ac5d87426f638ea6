/**
 * The report's timeline: one inline SVG, drawn on the server, with stacked
 * lanes on a shared x axis in seconds since the run started:
 *
 *   1. state bands: the scenario's phase, the breaker, the worker and the backlog's reads;
 *   2. queue depth and durable backlog size;
 *   3. handler call latency (dots by outcome), the adaptive timeout and the p95, log scale;
 *   4. tasks produced and delivered, cumulative.
 *
 * Every drawn series is a `<g class="series" data-series="…">`, so tests can
 * find each one and check that it is not blank.
 */
import { coord, escapeHtml, formatMs, formatSeconds } from './reportHtml.js';
import type {
  ActorStates,
  CallOutcome,
  CallSample,
  PhaseName,
  RunRecord,
  StateChange,
  TimelineSample,
} from './types.js';

const WIDTH = 1100;
/** Room on the left for band names and y tick labels. */
const LEFT = 96;
const RIGHT = 24;
const PLOT_WIDTH = WIDTH - LEFT - RIGHT;
/** Above each lane: its title on the left, its legend on the right. */
const LANE_HEADER = 26;
const LANE_GAP = 14;
const AXIS_HEIGHT = 38;
const FONT_SIZE = 11;
/** A rough average glyph width at FONT_SIZE, to lay out legends and fit labels in bands. */
const CHAR_WIDTH = 6.3;
/** Space before a legend group's title, e.g. `worker:`. */
const GROUP_GAP = 14;

/** A band of the first lane: its series name, the name shown beside it, its height. */
interface BandSpec {
  series: string;
  name: string;
  height: number;
}

const BANDS: readonly BandSpec[] = [
  { series: 'phase', name: 'scenario', height: 22 },
  { series: 'breaker', name: 'breaker', height: 22 },
  { series: 'worker', name: 'worker', height: 16 },
  { series: 'reads', name: 'backlog reads', height: 16 },
];
const BAND_GAP = 4;

const PHASE_COLORS: Record<PhaseName, string> = {
  healthy: '#d4efdf',
  spike: '#fad7a0',
  outage: '#f5b7b1',
  recovery: '#d6eaf8',
};
const BREAKER_COLORS: Record<string, string> = {
  closed: '#52be80',
  half_open: '#f5b041',
  open: '#e74c3c',
  none: '#d5d8dc',
};
const WORKER_COLORS: Record<string, string> = {
  idle: '#d5d8dc',
  draining: '#85c1e9',
  blocked: '#ec7063',
  backoff: '#f8c471',
  stopping: '#bb8fce',
  shutdown: '#808b96',
};
const READS_COLORS: Record<string, string> = {
  live: '#a9dfbf',
  replaying: '#f7dc6f',
  closed: '#808b96',
  none: '#eaecee',
};
/** For a state label no palette knows (a machine gained a state): visible, but neutral. */
const UNKNOWN_STATE_COLOR = '#c7ccd1';

/** Drawn in this order, so the rare outcomes sit on top of the many stored calls. */
const OUTCOMES: readonly CallOutcome[] = [
  'stored',
  'duplicate',
  'rejected',
  'error',
  'refused',
  'timeout',
];
const OUTCOME_COLORS: Record<CallOutcome, string> = {
  stored: '#3498db',
  duplicate: '#8e44ad',
  rejected: '#f1c40f',
  error: '#e67e22',
  refused: '#c0392b',
  timeout: '#17202a',
};

const LINE_STYLES = {
  queued: { color: '#2471a3', width: 1.8, dash: '' },
  backlog: { color: '#d35400', width: 1.8, dash: '' },
  timeout: { color: '#117a65', width: 1.8, dash: '' },
  p95: { color: '#c2185b', width: 1.8, dash: '5 3' },
  delivered: { color: '#1e8449', width: 2.2, dash: '' },
  produced: { color: '#5d6d7e', width: 1.6, dash: '6 4' },
} as const;
type LineSeries = keyof typeof LINE_STYLES;

/** Where one lane's plot area sits, in SVG px. */
interface Lane {
  top: number;
  height: number;
}

interface Layout {
  bands: Lane;
  queue: Lane;
  latency: Lane;
  progress: Lane;
  height: number;
}

/** Maps run time (ms) to x; times outside the run are clamped to its edges. */
interface TimeAxis {
  endMs: number;
  x(ms: number): number;
}

interface Point {
  t: number;
  value: number;
}

interface Run {
  label: string;
  startMs: number;
  endMs: number;
}

interface LegendItem {
  label: string;
  color: string;
  /** `title` names the group of entries after it, e.g. `worker:`. */
  shape: 'box' | 'line' | 'dot' | 'title';
  dash?: string;
}

/** Renders the run's timeline as an inline `<svg id="timeline">` element. */
export function renderTimeline(record: RunRecord): string {
  const layout = layoutLanes();
  const axis = timeAxis(record);
  const parts = [
    svgStyle(),
    phaseTint(record, axis, layout),
    bandsLane(record, axis, layout.bands),
    countLane(
      'Queue depth and durable backlog (tasks)',
      QUEUE_LINES,
      record.samples,
      axis,
      layout.queue,
    ),
    latencyLane(record, axis, layout.latency),
    countLane(
      'Progress (tasks, cumulative)',
      PROGRESS_LINES,
      record.samples,
      axis,
      layout.progress,
    ),
    phaseGuides(record, axis, layout),
    timeTicks(axis, layout),
  ];
  return [
    `<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${layout.height}" viewBox="0 0 ${WIDTH} ${layout.height}" role="img" aria-label="Run timeline">`,
    '<title>Run timeline: states, queue, latency and progress over time</title>',
    ...parts,
    '</svg>',
  ].join('\n');
}

function layoutLanes(): Layout {
  const bandsHeight = BANDS.reduce((sum, band) => sum + band.height + BAND_GAP, -BAND_GAP);
  const heights = { bands: bandsHeight, queue: 90, latency: 200, progress: 90 };
  let top = 0;
  const lane = (height: number): Lane => {
    const placed = { top: top + LANE_HEADER, height };
    top = placed.top + height + LANE_GAP;
    return placed;
  };
  const bands = lane(heights.bands);
  const queue = lane(heights.queue);
  const latency = lane(heights.latency);
  const progress = lane(heights.progress);
  return { bands, queue, latency, progress, height: top - LANE_GAP + AXIS_HEIGHT };
}

/** The run's span: its duration, stretched to cover any sample or call recorded after it. */
function timeAxis(record: RunRecord): TimeAxis {
  const times = [
    record.durationMs,
    ...record.samples.map((sample) => sample.t),
    ...record.calls.map((call) => call.t),
  ];
  // At least 1 ms, so an empty or instant run still has a width to divide by.
  const endMs = maxOf(times, 1);
  return { endMs, x: (ms) => LEFT + (clamp(ms, 0, endMs) / endMs) * PLOT_WIDTH };
}

function svgStyle(): string {
  return `<style>
#timeline text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: ${FONT_SIZE}px; fill: #2c3e50; }
#timeline .lane-title { font-weight: 600; font-size: 12px; fill: #1b2631; }
#timeline .tick { fill: #5d6d7e; }
#timeline .grid { stroke: #e5e8e8; stroke-width: 1; }
#timeline .grid.minor { stroke: #f2f3f4; }
#timeline .frame { fill: none; stroke: #cacfd2; }
#timeline .guide { stroke: #7f8c8d; stroke-width: 1; stroke-dasharray: 2 3; }
#timeline .band-label { font-size: 10px; fill: #17202a; }
</style>`;
}

// ---------------------------------------------------------------------------
// Lane 1: state bands

function bandsLane(record: RunRecord, axis: TimeAxis, lane: Lane): string {
  const runs: Record<string, Run[]> = {
    phase: phaseRuns(record, axis),
    breaker: actorRuns(record, 'breaker', axis),
    worker: actorRuns(record, 'worker', axis),
    reads: actorRuns(record, 'backlog', axis),
  };
  const palettes: Record<string, Record<string, string>> = {
    phase: PHASE_COLORS,
    breaker: BREAKER_COLORS,
    worker: WORKER_COLORS,
    reads: READS_COLORS,
  };
  let top = lane.top;
  const bands = BANDS.map((band) => {
    const drawn = drawBand(band, runs[band.series] ?? [], palettes[band.series] ?? {}, axis, top);
    top += band.height + BAND_GAP;
    return drawn;
  });
  const legend = [
    legendGroup(
      'breaker',
      labelsSeen(runs.breaker, ['closed', 'half_open', 'open']),
      BREAKER_COLORS,
    ),
    legendGroup('worker', labelsSeen(runs.worker, []), WORKER_COLORS),
    legendGroup('backlog reads', labelsSeen(runs.reads, []), READS_COLORS),
  ].flat();
  // No title: the band names say what each is, and the legend needs the whole width.
  return [legendRow(legend, LEFT + PLOT_WIDTH, lane.top - 9), ...bands].join('\n');
}

/** The scenario's windows on the run's timeline: they start `scenarioOffsetMs` into the run. */
function phaseRuns(record: RunRecord, axis: TimeAxis): Run[] {
  const offset = Number.isFinite(record.scenarioOffsetMs) ? record.scenarioOffsetMs : 0;
  return record.scenario.windows
    .map((window) => ({
      label: window.name,
      startMs: offset + window.startMs,
      // The last window never ends (`Infinity`): it lasts to the end of the run.
      endMs: Math.min(offset + window.endMs, axis.endMs),
    }))
    .filter((run) => run.endMs > run.startMs && run.startMs < axis.endMs);
}

/**
 * An actor's states over the run, from its recorded changes when there are
 * any: they have exact times, so a half-open probe of a few ms still shows,
 * where samples taken every 100 ms would mostly miss it.
 */
function actorRuns(record: RunRecord, actor: keyof ActorStates, axis: TimeAxis): Run[] {
  const changes = record.changes.filter((change) => change.actor === actor);
  const first = record.samples[0];
  if (changes.length === 0 || first === undefined) {
    return stateRuns(record.samples, (sample) => sample.actors[actor], axis);
  }
  const runs: Run[] = [
    { label: (changes[0] as StateChange).from, startMs: first.t, endMs: axis.endMs },
  ];
  for (const change of changes) {
    const current = runs.at(-1) as Run;
    if (change.t < current.startMs) {
      current.label = change.to; // changed before the first sample: start in its new state
      continue;
    }
    current.endMs = change.t;
    runs.push({ label: change.to, startMs: change.t, endMs: axis.endMs });
  }
  return runs.filter((run) => run.endMs > run.startMs || run === runs.at(-1));
}

/** Contiguous runs of one actor's state label; the last run lasts to the end of the run. */
function stateRuns(
  samples: readonly TimelineSample[],
  label: (sample: TimelineSample) => string,
  axis: TimeAxis,
): Run[] {
  const runs: Run[] = [];
  for (const sample of samples) {
    const current = runs.at(-1);
    if (current?.label === label(sample)) continue;
    if (current) current.endMs = sample.t;
    runs.push({ label: label(sample), startMs: sample.t, endMs: axis.endMs });
  }
  return runs;
}

function drawBand(
  band: BandSpec,
  runs: readonly Run[],
  palette: Record<string, string>,
  axis: TimeAxis,
  top: number,
): string {
  const rects = runs.map((run) => {
    const x0 = axis.x(run.startMs);
    const width = Math.max(axis.x(run.endMs) - x0, 0.5);
    const tooltip = `${band.name}: ${run.label} · ${formatSeconds(run.startMs)} – ${formatSeconds(run.endMs)} (${formatSeconds(run.endMs - run.startMs)})`;
    const fits = width >= run.label.length * CHAR_WIDTH * 0.9 + 8 && band.height >= 16;
    const text = fits
      ? `<text class="band-label" x="${coord(x0 + 4)}" y="${coord(top + band.height / 2 + 3.5)}">${escapeHtml(run.label)}</text>`
      : '';
    return `<g><title>${escapeHtml(tooltip)}</title><rect x="${coord(x0)}" y="${coord(top)}" width="${coord(width)}" height="${band.height}" fill="${palette[run.label] ?? UNKNOWN_STATE_COLOR}"/>${text}</g>`;
  });
  const name = `<text x="${LEFT - 8}" y="${coord(top + band.height / 2 + 4)}" text-anchor="end">${escapeHtml(band.name)}</text>`;
  return `${name}\n${seriesGroup(band.series, band.name, rects)}`;
}

/** The labels to explain in the legend: the expected ones, then any others the run showed. */
function labelsSeen(runs: readonly Run[] | undefined, expected: readonly string[]): string[] {
  const seen = new Set(expected);
  for (const run of runs ?? []) seen.add(run.label);
  return [...seen];
}

function legendGroup(
  title: string,
  labels: readonly string[],
  palette: Record<string, string>,
): LegendItem[] {
  if (labels.length === 0) return [];
  return [
    { label: `${title}:`, color: 'none', shape: 'title' },
    ...labels.map((label) => ({
      label,
      color: palette[label] ?? UNKNOWN_STATE_COLOR,
      shape: 'box' as const,
    })),
  ];
}

// ---------------------------------------------------------------------------
// Lane 2: queue depth and backlog

/** One line of a count lane: its series name, legend, tooltip and the value it plots. */
interface CountLine {
  series: LineSeries;
  legend: string;
  description: string;
  value: (sample: TimelineSample) => number;
}

type CountField = 'queued' | 'backlog' | 'produced' | 'delivered';

/** A count line plotting one numeric field of the samples. */
const countLine = (series: CountField, legend: string, description: string): CountLine => ({
  series,
  legend,
  description,
  value: (sample) => sample[series],
});

const QUEUE_LINES = [
  countLine('queued', 'queued in memory', 'tasks queued in memory'),
  countLine('backlog', 'durable backlog', 'durable tasks not yet delivered'),
];
const PROGRESS_LINES = [
  countLine('produced', 'produced', 'tasks enqueued so far'),
  countLine('delivered', 'delivered', 'tasks delivered so far'),
];

/** A lane of task counts over time, on one shared linear y axis. */
function countLane(
  title: string,
  lines: readonly CountLine[],
  samples: readonly TimelineSample[],
  axis: TimeAxis,
  lane: Lane,
): string {
  const points = lines.map((line) => samplePoints(samples, line.value));
  const y = countScale(points.flat(), lane);
  return [
    laneHeader(
      title,
      lane,
      lines.map((line) => lineLegend(line.series, line.legend)),
    ),
    plotFrame(axis, lane, y.ticks, y.y, String),
    ...lines.map((line, i) =>
      lineSeries(line.series, line.description, points[i] ?? [], axis, y.y),
    ),
  ].join('\n');
}

// ---------------------------------------------------------------------------
// Lane 3: latency

function latencyLane(record: RunRecord, axis: TimeAxis, lane: Lane): string {
  const timeout = samplePoints(record.samples, (sample) => sample.timeoutMs);
  const p95 = samplePoints(record.samples, (sample) => sample.p95Ms);
  const durations = record.calls.map((call) => call.durationMs);
  const values = [...durations, ...timeout.map((p) => p?.value), ...p95.map((p) => p?.value)];
  // Headroom, so the slowest calls do not sit on the frame.
  const top = niceCeil(maxOf(values, 10) * 1.15);
  const y = logScale(top, lane);
  return [
    laneHeader('Handler call latency (ms, log scale)', lane, [
      ...OUTCOMES.map((outcome) => ({
        label: outcome,
        color: OUTCOME_COLORS[outcome],
        shape: 'dot' as const,
      })),
      lineLegend('timeout', 'adaptive timeout'),
      lineLegend('p95', 'p95'),
    ]),
    plotFrame(axis, lane, logTicks(top), y, formatLatencyTick, minorLogTicks(top)),
    callDots(record.calls, axis, y),
    stepSeries('timeout', 'the adaptive timeout the next task gets', timeout, axis, y),
    lineSeries('p95', "the latency tracker's p95", p95, axis, y),
  ].join('\n');
}

function callDots(calls: readonly CallSample[], axis: TimeAxis, y: (ms: number) => number): string {
  const groups = OUTCOMES.map((outcome) => {
    const dots = calls
      .filter((call) => call.outcome === outcome && Number.isFinite(call.t))
      .map((call) => {
        const tooltip = `${formatSeconds(call.t, 2)} · ${formatMs(call.durationMs)} · ${outcome}`;
        return `<circle cx="${coord(axis.x(call.t))}" cy="${coord(y(call.durationMs))}" r="${outcome === 'stored' ? 2.2 : 2.8}"><title>${escapeHtml(tooltip)}</title></circle>`;
      });
    if (dots.length === 0) return '';
    const opacity = outcome === 'stored' ? 0.55 : 0.85;
    return `<g data-outcome="${outcome}" fill="${OUTCOME_COLORS[outcome]}" fill-opacity="${opacity}">${dots.join('')}</g>`;
  });
  return seriesGroup('calls', 'handler calls, by outcome', groups);
}

// ---------------------------------------------------------------------------
// Lane 4: progress

// ---------------------------------------------------------------------------
// Series

/** The samples' finite values of one field; undefined (a p95 not warm yet) leaves a gap. */
function samplePoints(
  samples: readonly TimelineSample[],
  value: (sample: TimelineSample) => number | undefined,
): (Point | undefined)[] {
  return samples.map((sample) => {
    const v = value(sample);
    return v !== undefined && Number.isFinite(v) && Number.isFinite(sample.t)
      ? { t: sample.t, value: v }
      : undefined;
  });
}

function seriesGroup(series: string, description: string, children: readonly string[]): string {
  return `<g class="series" data-series="${series}"><title>${escapeHtml(description)}</title>${children.join('')}</g>`;
}

function lineSeries(
  series: LineSeries,
  description: string,
  points: readonly (Point | undefined)[],
  axis: TimeAxis,
  y: (value: number) => number,
): string {
  const d = segments(points)
    .map((segment) => {
      const [first, ...rest] = segment.map((p) => `${coord(axis.x(p.t))} ${coord(y(p.value))}`);
      // A lone point has no length to stroke: a tiny segment with a round cap draws it as a dot.
      return rest.length > 0 ? `M${first} L${rest.join(' ')}` : `M${first} h0.1`;
    })
    .join(' ');
  return seriesGroup(series, description, d ? [linePath(series, d)] : []);
}

/** A step line: each value holds until the next sample changes it. */
function stepSeries(
  series: LineSeries,
  description: string,
  points: readonly (Point | undefined)[],
  axis: TimeAxis,
  y: (value: number) => number,
): string {
  const d = segments(points)
    .map((segment) => {
      const [first, ...rest] = segment;
      if (!first) return '';
      const steps = rest.map((p) => `H${coord(axis.x(p.t))} V${coord(y(p.value))}`);
      const start = `M${coord(axis.x(first.t))} ${coord(y(first.value))}`;
      return rest.length > 0 ? `${start} ${steps.join(' ')}` : `${start} h0.1`;
    })
    .join(' ');
  return seriesGroup(series, description, d ? [linePath(series, d)] : []);
}

function linePath(series: LineSeries, d: string): string {
  const style = LINE_STYLES[series];
  const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
  return `<path d="${d}" fill="none" stroke="${style.color}" stroke-width="${style.width}" stroke-linejoin="round" stroke-linecap="round"${dash}/>`;
}

/** Splits a series at its gaps into runs of consecutive points. */
function segments(points: readonly (Point | undefined)[]): Point[][] {
  const result: Point[][] = [];
  let current: Point[] = [];
  for (const point of points) {
    if (point) {
      current.push(point);
    } else if (current.length > 0) {
      result.push(current);
      current = [];
    }
  }
  if (current.length > 0) result.push(current);
  return result;
}

// ---------------------------------------------------------------------------
// Scales and axes

/** A linear count axis from 0 with whole-number ticks; all zeros still get a 0–1 axis. */
function countScale(
  points: readonly (Point | undefined)[],
  lane: Lane,
): { y: (value: number) => number; ticks: number[] } {
  const highest = maxOf(
    points.map((p) => p?.value),
    1,
  );
  // About four 1-2-5 steps, and the axis ends on the first step above the data.
  const step = Math.max(1, niceCeil(highest / 4, [1, 2, 5]));
  const max = Math.ceil(highest / step) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= max; i++) ticks.push(i * step);
  const bottom = lane.top + lane.height;
  return { y: (value) => bottom - (clamp(value, 0, max) / max) * lane.height, ticks };
}

/** A log axis from 1 ms to `top`; anything under 1 ms sits on the bottom line. */
function logScale(top: number, lane: Lane): (ms: number) => number {
  const bottom = lane.top + lane.height;
  const decades = Math.log10(top);
  return (ms) => bottom - (Math.log10(clamp(ms, 1, top)) / decades) * lane.height;
}

function logTicks(top: number): number[] {
  const ticks: number[] = [];
  for (let tick = 1; tick <= top; tick *= 10) ticks.push(tick);
  if (ticks.at(-1) !== top) ticks.push(top);
  return ticks;
}

/** Unlabelled 2× and 5× lines between the decades, so values can be read between them. */
function minorLogTicks(top: number): number[] {
  const ticks: number[] = [];
  for (let decade = 1; decade < top; decade *= 10) {
    for (const factor of [2, 5]) if (decade * factor < top) ticks.push(decade * factor);
  }
  return ticks;
}

/** The smallest `factor × 10^k` that is ≥ value (1 for anything ≤ 1). */
function niceCeil(
  value: number,
  factors: readonly number[] = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8],
): number {
  if (!Number.isFinite(value) || value <= 1) return 1;
  const decade = 10 ** Math.floor(Math.log10(value));
  for (const factor of factors) {
    if (decade * factor >= value) return decade * factor;
  }
  return decade * 10;
}

/** `1 ms`, `100 ms`, `2.5 s`: tick labels, shorter than {@link formatMs}. */
function formatLatencyTick(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The lane's frame, its horizontal grid with y tick labels, and the vertical time grid. */
function plotFrame(
  axis: TimeAxis,
  lane: Lane,
  ticks: readonly number[],
  y: (value: number) => number,
  format: (value: number) => string,
  minorTicks: readonly number[] = [],
): string {
  const right = LEFT + PLOT_WIDTH;
  const bottom = lane.top + lane.height;
  const minor = minorTicks.map(
    (tick) =>
      `<line class="grid minor" x1="${LEFT}" x2="${right}" y1="${coord(y(tick))}" y2="${coord(y(tick))}"/>`,
  );
  const major = ticks.map((tick) => {
    const ty = coord(y(tick));
    return `<line class="grid" x1="${LEFT}" x2="${right}" y1="${ty}" y2="${ty}"/><text class="tick" x="${LEFT - 6}" y="${coord(y(tick) + 3.5)}" text-anchor="end">${escapeHtml(format(tick))}</text>`;
  });
  const vertical = timeTickValues(axis.endMs).map(
    (ms) =>
      `<line class="grid" x1="${coord(axis.x(ms))}" x2="${coord(axis.x(ms))}" y1="${lane.top}" y2="${bottom}"/>`,
  );
  const frame = `<rect class="frame" x="${LEFT}" y="${lane.top}" width="${PLOT_WIDTH}" height="${lane.height}"/>`;
  return [...minor, ...vertical, ...major, frame].join('\n');
}

/** Seconds along the bottom, at a 1-2-5 step giving about a dozen ticks. */
function timeTicks(axis: TimeAxis, layout: Layout): string {
  const baseline = layout.progress.top + layout.progress.height;
  const step = timeStep(axis.endMs);
  const decimals = step >= 1000 ? 0 : Math.ceil(-Math.log10(step / 1000));
  const labels = timeTickValues(axis.endMs).map((ms) => {
    const x = coord(axis.x(ms));
    return `<line x1="${x}" x2="${x}" y1="${baseline}" y2="${baseline + 4}" stroke="#7f8c8d"/><text class="tick" x="${x}" y="${baseline + 16}" text-anchor="middle">${(ms / 1000).toFixed(decimals)}</text>`;
  });
  const caption = `<text class="tick" x="${LEFT + PLOT_WIDTH / 2}" y="${baseline + 33}" text-anchor="middle">seconds since the run started</text>`;
  return [...labels, caption].join('\n');
}

function timeStep(endMs: number): number {
  return niceCeil(endMs / 12, [1, 2, 5]);
}

function timeTickValues(endMs: number): number[] {
  const step = timeStep(endMs);
  const ticks: number[] = [];
  // Multiplying, not adding, keeps float error from piling up across ticks.
  for (let i = 0; i * step <= endMs + 1e-9; i++) ticks.push(i * step);
  return ticks;
}

// ---------------------------------------------------------------------------
// Phase context across all lanes

/** A faint wash of each phase's colour behind the plots, so every lane reads against the story. */
function phaseTint(record: RunRecord, axis: TimeAxis, layout: Layout): string {
  const top = layout.queue.top;
  const bottom = layout.progress.top + layout.progress.height;
  return phaseRuns(record, axis)
    .filter((run) => run.label !== 'healthy')
    .map((run) => {
      const x0 = axis.x(run.startMs);
      const fill = PHASE_COLORS[run.label as PhaseName] ?? UNKNOWN_STATE_COLOR;
      return `<rect x="${coord(x0)}" y="${top}" width="${coord(axis.x(run.endMs) - x0)}" height="${bottom - top}" fill="${fill}" fill-opacity="0.28"/>`;
    })
    .join('\n');
}

/** Dashed lines at each phase change, through every lane. */
function phaseGuides(record: RunRecord, axis: TimeAxis, layout: Layout): string {
  const top = layout.bands.top;
  const bottom = layout.progress.top + layout.progress.height;
  return phaseRuns(record, axis)
    .filter((run) => run.startMs > 0)
    .map((run) => {
      const x = coord(axis.x(run.startMs));
      return `<line class="guide" x1="${x}" x2="${x}" y1="${top}" y2="${bottom}"/>`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------
// Lane headers and legends

function laneHeader(title: string, lane: Lane, legend: readonly LegendItem[]): string {
  const baseline = lane.top - 9;
  const heading = `<text class="lane-title" x="${LEFT}" y="${baseline}">${escapeHtml(title)}</text>`;
  return `${heading}\n${legendRow(legend, LEFT + PLOT_WIDTH, baseline)}`;
}

function lineLegend(series: LineSeries, label: string): LegendItem {
  const style = LINE_STYLES[series];
  return { label, color: style.color, shape: 'line', dash: style.dash };
}

/** Legend entries laid out right-aligned, ending at `right`. */
function legendRow(items: readonly LegendItem[], right: number, baseline: number): string {
  const widths = items.map(legendItemWidth);
  let x = right - widths.reduce((sum, width) => sum + width, 0);
  const drawn = items.map((item, index) => {
    const svg = legendItem(item, x, baseline);
    x += widths[index] ?? 0;
    return svg;
  });
  return `<g class="legend">${drawn.join('')}</g>`;
}

function legendItemWidth(item: LegendItem): number {
  const swatch = item.shape === 'title' ? GROUP_GAP : item.shape === 'line' ? 24 : 14;
  return swatch + item.label.length * CHAR_WIDTH + 12;
}

function legendItem(item: LegendItem, x: number, baseline: number): string {
  const label = (offset: number) =>
    `<text x="${coord(x + offset)}" y="${baseline}">${escapeHtml(item.label)}</text>`;
  // A gap before each group's title sets the groups apart.
  if (item.shape === 'title') return label(GROUP_GAP);
  const middle = baseline - 4;
  if (item.shape === 'line') {
    const dash = item.dash ? ` stroke-dasharray="${item.dash}"` : '';
    return `<line x1="${coord(x)}" x2="${coord(x + 18)}" y1="${middle}" y2="${middle}" stroke="${item.color}" stroke-width="2"${dash}/>${label(24)}`;
  }
  if (item.shape === 'dot') {
    return `<circle cx="${coord(x + 4)}" cy="${middle}" r="3.5" fill="${item.color}"/>${label(12)}`;
  }
  return `<rect x="${coord(x)}" y="${middle - 5}" width="10" height="10" fill="${item.color}" stroke="#aab7b8" stroke-width="0.5"/>${label(14)}`;
}

/**
 * The largest finite value, or `floor` if it is larger. A loop, not
 * `Math.max(...values)`: long runs have more samples than a call's arguments may hold.
 */
function maxOf(values: readonly (number | undefined)[], floor: number): number {
  let max = floor;
  for (const value of values) {
    if (value !== undefined && Number.isFinite(value) && value > max) max = value;
  }
  return max;
}

function clamp(value: number, min: number, max: number): number {
  if (Number.isNaN(value)) return min;
  return Math.min(max, Math.max(min, value));
}
