/**
 * The fault schedule the memory service plays: healthy, a latency spike, an
 * outage (first refused connections, then 503s), a slow recovery, and healthy
 * again for good. Seeded: the same seed gives the same scenario, another seed
 * moves its boundaries by up to ±10%.
 */
import { hashSeed, mulberry32, type Random } from './random.js';
import type { LatencyModel, PhaseName, PhaseWindow, Scenario } from './types.js';

/** The outage's default length (ms) in each mode. */
export const DEFAULT_OUTAGE_MS = { full: 12_000, fast: 1_500 } as const;

/** The longest outage `buildScenario` accepts (ms): ten minutes. */
export const MAX_OUTAGE_MS = 600_000;

/** What `buildScenario` needs: the seed, the mode, and optionally the outage's length. */
export interface ScenarioOptions {
  seed: number;
  /** The same story condensed to a few seconds. */
  fast: boolean;
  /** The outage's total length; default `DEFAULT_OUTAGE_MS` of the mode. Used as given, even in fast mode. */
  outageMs?: number;
}

/** Nominal phase lengths of the full story (ms), before the mode's scale and the seed's jitter. */
const FULL_LENGTHS = { healthy: 8_000, spike: 8_000, recovery: 6_000 } as const;
/** Fast mode keeps the story's shape at about an eighth of its length. */
const FAST_SCALE = 0.12;
/** Fast mode halves the latencies too, so the short phases still hold a few round trips. */
const FAST_LATENCY_SCALE = 0.5;
const JITTER = 0.1;
/** The outage refuses connections for its first 60%, then answers 503. */
const REFUSE_SHARE = 0.6;

const HEALTHY = { medianMs: 12, sigma: 0.35, errorRate: 0.01 };
const SPIKE = { medianMs: 180, sigma: 0.45, errorRate: 0.02 };
const RECOVERY_START = { medianMs: 90, sigma: 0.5, errorRate: 0.1 };
const COLD_START = { fullMs: 2_000, fastMs: 250, factor: 4 };

function validate({ seed, outageMs }: ScenarioOptions): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  }
  if (
    outageMs !== undefined &&
    (typeof outageMs !== 'number' ||
      !Number.isFinite(outageMs) ||
      outageMs < 0 ||
      outageMs > MAX_OUTAGE_MS)
  ) {
    throw new RangeError(
      `outageMs must be a finite number from 0 to ${MAX_OUTAGE_MS}, got ${outageMs}`,
    );
  }
}

/** A nominal length scaled to the mode and jittered by ±10%, in whole ms. */
function jittered(nominalMs: number, scale: number, random: Random): number {
  return Math.round(nominalMs * scale * (1 + JITTER * (2 * random() - 1)));
}

function latencyOf(profile: { medianMs: number; sigma: number }, scale: number): LatencyModel {
  return { medianMs: profile.medianMs * scale, sigma: profile.sigma };
}

/**
 * Builds the fault schedule. Deterministic in its arguments. Throws a
 * `RangeError` naming the option for a seed that is not a non-negative safe
 * integer or an `outageMs` outside [0, 600 000].
 */
export function buildScenario(options: ScenarioOptions): Scenario {
  validate(options);
  const { seed, fast } = options;
  const random = mulberry32(hashSeed('scenario', seed));
  const scale = fast ? FAST_SCALE : 1;
  const latencyScale = fast ? FAST_LATENCY_SCALE : 1;
  const healthyMs = jittered(FULL_LENGTHS.healthy, scale, random);
  const spikeMs = jittered(FULL_LENGTHS.spike, scale, random);
  const recoveryMs = jittered(FULL_LENGTHS.recovery, scale, random);
  const outageMs = options.outageMs ?? (fast ? DEFAULT_OUTAGE_MS.fast : DEFAULT_OUTAGE_MS.full);
  const refuseMs = Math.round(outageMs * REFUSE_SHARE);

  const healthy = { latency: latencyOf(HEALTHY, latencyScale), errorRate: HEALTHY.errorRate };
  // During an outage no write gets as far as latency or a 500; the fields are the healthy ones.
  const down = { latency: healthy.latency, errorRate: 0 };
  const windows: PhaseWindow[] = [];
  let at = 0;
  const add = (
    name: PhaseName,
    lengthMs: number,
    rest: Omit<PhaseWindow, 'name' | 'startMs' | 'endMs'>,
  ) => {
    windows.push({ name, startMs: at, endMs: at + lengthMs, ...rest });
    at += lengthMs;
  };
  add('healthy', healthyMs, healthy);
  add('spike', spikeMs, { latency: latencyOf(SPIKE, latencyScale), errorRate: SPIKE.errorRate });
  add('outage', refuseMs, { ...down, outage: 'refuse' });
  add('outage', outageMs - refuseMs, { ...down, outage: 'unavailable' });
  add('recovery', recoveryMs, {
    latency: latencyOf(RECOVERY_START, latencyScale),
    errorRate: RECOVERY_START.errorRate,
    easesIntoNext: true,
  });
  add('healthy', Number.POSITIVE_INFINITY, healthy);
  return {
    seed,
    coldStartMs: fast ? COLD_START.fastMs : COLD_START.fullMs,
    coldStartFactor: COLD_START.factor,
    windows,
  };
}

/**
 * The window containing `tMs` (start inclusive, end exclusive), so an empty
 * window (a zero-length outage) is never current. Before the first window:
 * the first.
 */
export function phaseAt(scenario: Scenario, tMs: number): PhaseWindow {
  const { windows } = scenario;
  const first = windows[0];
  if (first === undefined) throw new RangeError('the scenario has no windows');
  if (tMs < first.startMs) return first;
  return windows.find((w) => w.startMs <= tMs && tMs < w.endMs) ?? (windows.at(-1) as PhaseWindow);
}

/** The windows of the first run of consecutive windows named `phase`. */
function firstRunOf(scenario: Scenario, phase: PhaseName): PhaseWindow[] {
  const start = scenario.windows.findIndex((w) => w.name === phase);
  if (start < 0) throw new RangeError(`the scenario has no ${phase} phase`);
  let end = start;
  while (scenario.windows[end + 1]?.name === phase) end++;
  return scenario.windows.slice(start, end + 1);
}

/**
 * The middle of a phase's first occurrence, in ms (for a phase split into
 * several windows, the middle of their union). A phase without end has no
 * middle: its start is returned.
 */
export function midpointOf(scenario: Scenario, phase: PhaseName): number {
  const run = firstRunOf(scenario, phase);
  const startMs = (run[0] as PhaseWindow).startMs;
  const endMs = (run.at(-1) as PhaseWindow).endMs;
  return Number.isFinite(endMs) ? (startMs + endMs) / 2 : startMs;
}

/**
 * How long the producer should keep producing (ms): past the recovery by as
 * long again as the recovery lasted (~6 s, fast ~0.7 s), so the report shows
 * the worker settling back into healthy traffic. The scenario records no
 * mode, so the recovery's own length sets the scale.
 */
export function productionMs(scenario: Scenario): number {
  const run = firstRunOf(scenario, 'recovery');
  const startMs = (run[0] as PhaseWindow).startMs;
  const endMs = (run.at(-1) as PhaseWindow).endMs;
  if (!Number.isFinite(endMs)) throw new RangeError('the recovery phase never ends');
  return endMs + (endMs - startMs);
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const percent = (rate: number) => `${Math.round(rate * 100)}%`;
const millis = (ms: number) => `${Math.round(ms)}`;

function rangeOf(window: PhaseWindow): string {
  return Number.isFinite(window.endMs)
    ? `${seconds(window.startMs)}–${seconds(window.endMs)} s`
    : `from ${seconds(window.startMs)} s`;
}

function conditionsOf(window: PhaseWindow, next: PhaseWindow | undefined): string {
  if (window.outage === 'refuse') return 'connections refused';
  if (window.outage === 'unavailable') return '503 service unavailable';
  const { latency, errorRate } = window;
  if (window.easesIntoNext && next) {
    return `median ${millis(latency.medianMs)} → ${millis(next.latency.medianMs)} ms  errors ${percent(errorRate)} → ${percent(next.errorRate)}`;
  }
  return `median ${millis(latency.medianMs)} ms  errors ${percent(errorRate)}`;
}

/**
 * The schedule as lines for people, one per window, then the cold start:
 * `healthy    0.0–8.1 s      median 12 ms  errors 1%`.
 */
export function describeScenario(scenario: Scenario): string[] {
  const lines = scenario.windows.map(
    (window, i) =>
      `${window.name.padEnd(10)} ${rangeOf(window).padEnd(14)} ${conditionsOf(window, scenario.windows[i + 1])}`,
  );
  if (scenario.coldStartMs > 0) {
    const range = `0.0–${seconds(scenario.coldStartMs)} s`;
    lines.push(
      `${'cold start'.padEnd(10)} ${range.padEnd(14)} ${scenario.coldStartFactor}× slower, easing to 1×`,
    );
  }
  return lines;
}

/** One window as it crosses JSON or IPC, where `Infinity` would become `null` unannounced. */
export interface PhaseWindowWire extends Omit<PhaseWindow, 'endMs'> {
  /** `null` for a window without end. */
  endMs: number | null;
}

/** A scenario as it crosses JSON or IPC. */
export interface ScenarioWire extends Omit<Scenario, 'windows'> {
  windows: PhaseWindowWire[];
}

/** Encodes a scenario for JSON or IPC: an endless window's `endMs` becomes `null`. */
export function scenarioToWire(scenario: Scenario): ScenarioWire {
  return {
    ...scenario,
    windows: scenario.windows.map((w) => ({
      ...w,
      endMs: Number.isFinite(w.endMs) ? w.endMs : null,
    })),
  };
}

/** Decodes `scenarioToWire`'s output: a `null` end is `Infinity` again. */
export function scenarioFromWire(wire: ScenarioWire): Scenario {
  return {
    ...wire,
    windows: wire.windows.map((w) => ({ ...w, endMs: w.endMs ?? Number.POSITIVE_INFINITY })),
  };
}
