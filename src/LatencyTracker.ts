import { type ActorRefFrom, createActor } from 'xstate';
import { latencyMachine } from '../machines/projections/latency.machine.js';
import { sendIfActive } from './actorSend.js';
import type { Inspect } from './inspect.js';
import { optionNames, refuseUnknownOptions } from './optionNames.js';
import { insertSorted, p95Index, replaceSorted, sortFrom } from './sortedSamples.js';
import {
  delayMs,
  inspectOption,
  optionsObject,
  positiveInteger,
  positiveNumber,
} from './validate.js';

/** Options of {@link LatencyTracker}. Every time is in milliseconds. */
export interface LatencyTrackerOptions {
  /** How many recent samples the p95 is taken over. Default 20. */
  window?: number;
  /** The timeout until `warmupSamples` samples have arrived. Default 30 000. */
  defaultMs?: number;
  /** The lowest adaptive timeout. May be 0 (the timeout is still never below 1 ms). Default 5 000. */
  floorMs?: number;
  /** The highest timeout, the warm-up default included. Default 120 000. */
  ceilingMs?: number;
  /** The multiple of p95 that becomes the timeout. Default 3. */
  headroom?: number;
  /**
   * Samples needed before the timeout adapts; at most `window` (a larger value
   * throws a `RangeError`). Default `min(5, window)`, so a small window works
   * without setting this too.
   */
  warmupSamples?: number;
  /** An XState inspector for this tracker's actor. */
  inspect?: Inspect;
}

/** The tracker's actor, for `.actor`. */
export type LatencyTrackerActor = ActorRefFrom<typeof latencyMachine>;

const OWNER = 'LatencyTracker';

/**
 * The largest sample window. Each sample costs 16 bytes and `observe` may
 * be O(window), so a window beyond this is a mistake, not a tuning choice.
 */
export const MAX_WINDOW = 100_000;

/** The shortest timeout the tracker gives: timers cannot fire sooner, and 0 would fail every call. */
export const MIN_TIMEOUT_MS = 1;

/** Samples needed to warm up when the option is unset and the window is at least this large. */
const DEFAULT_WARMUP_SAMPLES = 5;

/** The options a tracker's numbers come from: all that a worker's own tracker accepts. One line per option. */
const SETTING_NAMES = optionNames<Omit<LatencyTrackerOptions, 'inspect'>>()([
  'window',
  'defaultMs',
  'floorMs',
  'ceilingMs',
  'headroom',
  'warmupSamples',
]);

/** Every option of {@link LatencyTrackerOptions}: a worker's own tracker is inspected through the worker. */
const OPTION_NAMES = [...SETTING_NAMES, 'inspect'];

/**
 * The settings of a tracker, validated; `owner` prefixes the error messages.
 * `standalone`: the options of `new LatencyTracker`, which may also hold
 * `inspect`; otherwise those of a worker's own tracker.
 *
 * @throws TypeError naming an option no tracker reads.
 */
export function latencySettings(owner: string, options: unknown, standalone = false) {
  const o = optionsObject<LatencyTrackerOptions>(owner, options);
  refuseUnknownOptions(owner, o, standalone ? OPTION_NAMES : SETTING_NAMES);
  const window = positiveInteger(owner, 'window', o.window, 20, false, MAX_WINDOW);
  const settings = {
    window,
    defaultMs: delayMs(owner, 'defaultMs', o.defaultMs, 30_000, false),
    floorMs: delayMs(owner, 'floorMs', o.floorMs, 5_000),
    ceilingMs: delayMs(owner, 'ceilingMs', o.ceilingMs, 120_000, false),
    headroom: positiveNumber(owner, 'headroom', o.headroom, 3),
    // Only the default follows the window; an explicit value above it is refused below.
    warmupSamples: positiveInteger(
      owner,
      'warmupSamples',
      o.warmupSamples,
      Math.min(DEFAULT_WARMUP_SAMPLES, window),
    ),
  };
  if (settings.warmupSamples > settings.window) {
    throw new RangeError(
      `${owner}: warmupSamples (${settings.warmupSamples}) must be ≤ window (${settings.window})`,
    );
  }
  if (settings.floorMs > settings.ceilingMs) {
    throw new RangeError(
      `${owner}: floorMs (${settings.floorMs}) must be ≤ ceilingMs (${settings.ceilingMs})`,
    );
  }
  return settings;
}

/**
 * Rolling p95 of call latencies, giving an adaptive timeout of
 * `clamp(headroom × p95, floorMs, ceilingMs)` once warm, and `defaultMs` before.
 *
 * `observe` and `timeout` are plain calls with no allocation. `timeout` is
 * O(1); `observe` is O(1) while the p95 leaves the timeout on its floor (two
 * counters say so), and otherwise keeps a sorted copy of the window, close to
 * O(log window) for steady latencies. The tracker's actor (`warming` → `adaptive`, with `saturated` when pinned at
 * the ceiling) only hears when that regime changes.
 */
export class LatencyTracker {
  /** The XState actor that holds the tracker's regime, for inspection. */
  readonly actor: LatencyTrackerActor;
  readonly #window: number;
  readonly #defaultMs: number;
  readonly #floorMs: number;
  readonly #ceilingMs: number;
  readonly #headroom: number;
  readonly #warmupSamples: number;
  readonly #ownsActor: boolean;
  // Arrival order, to know which sample leaves the window next.
  readonly #ring: Float64Array;
  // The same samples sorted, so the p95 is a single index; in order only while #sortedValid.
  readonly #sorted: Float64Array;
  // Whether #sorted holds the window in order. Only observe, #recompute, #sortedSamples and
  // reset write it: #recompute drops the order while the p95 cannot lift the timeout, which
  // spares observe the sorting, and #sortedSamples rebuilds it when the p95 is needed again.
  #sortedValid = true;
  // Samples in the window with headroom × sample above the lowest timeout, and at or above
  // the ceiling. headroom × x grows with x, so they are the window's largest samples, and
  // comparing each count with the p95's rank tells where the p95 is without sorting. Only
  // observe and reset write them.
  #aboveFloor = 0;
  #atCeiling = 0;
  // The lowest timeout the tracker gives: max(floorMs, MIN_TIMEOUT_MS).
  readonly #lowestMs: number;
  #next = 0;
  // Samples observed since the start or the last reset (the window holds the last `window`).
  #samples = 0;
  #current: number;
  #warm = false;
  #saturated = false;

  /**
   * @param options see {@link LatencyTrackerOptions}; invalid values throw a
   *   `TypeError` or `RangeError` naming the option.
   * @param boundActor internal: a tracker actor owned by a `SyncWorker`.
   */
  constructor(options: LatencyTrackerOptions = {}, boundActor?: LatencyTrackerActor) {
    const settings = latencySettings(OWNER, options, true);
    this.#window = settings.window;
    this.#defaultMs = settings.defaultMs;
    this.#floorMs = settings.floorMs;
    this.#ceilingMs = settings.ceilingMs;
    this.#headroom = settings.headroom;
    this.#warmupSamples = settings.warmupSamples;
    this.#lowestMs = Math.max(this.#floorMs, MIN_TIMEOUT_MS);
    this.#ring = new Float64Array(this.#window);
    this.#sorted = new Float64Array(this.#window);
    this.#current = Math.min(this.#defaultMs, this.#ceilingMs);
    this.#ownsActor = boundActor === undefined;
    this.actor =
      boundActor ??
      createActor(latencyMachine, {
        inspect: inspectOption<Inspect>(OWNER, options.inspect),
      }).start();
  }

  /**
   * Records a successful call's latency in ms. NaN, negative, infinite and
   * non-number samples are ignored: they carry no information about the remote.
   */
  observe(ms: number): void {
    if (typeof ms !== 'number' || !(ms >= 0) || ms === Number.POSITIVE_INFINITY) return;
    const held = this.sampleCount;
    const old = this.#ring[this.#next] as number;
    if (held === this.#window) this.#count(old, -1);
    this.#count(ms, 1);
    if (this.#sortedValid) {
      if (held === this.#window) replaceSorted(this.#sorted, old, ms, held);
      else insertSorted(this.#sorted, ms, held);
    }
    this.#ring[this.#next] = ms;
    this.#next = this.#next + 1 === this.#window ? 0 : this.#next + 1;
    this.#samples++;
    this.#recompute();
  }

  /** The timeout for the next call, in ms. O(1). */
  timeout(): number {
    return this.#current;
  }

  /** The nearest-rank p95 of the window, or `undefined` before any sample. */
  get p95(): number | undefined {
    const n = this.sampleCount;
    if (n === 0) return undefined;
    return this.#sortedSamples()[p95Index(n)];
  }

  /** How many samples the window holds now (at most `window`). */
  get sampleCount(): number {
    return Math.min(this.#samples, this.#window);
  }

  /** Whether the timeout adapts (`true`) or is still the warm-up default. */
  get isWarm(): boolean {
    return this.#warm;
  }

  /** Forgets every sample; the timeout returns to the warm-up default. */
  reset(): void {
    this.#samples = 0;
    this.#next = 0;
    this.#aboveFloor = 0;
    this.#atCeiling = 0;
    this.#sortedValid = true;
    this.#warm = false;
    this.#saturated = false;
    this.#current = Math.min(this.#defaultMs, this.#ceilingMs);
    sendIfActive(this.actor, { type: 'RESET' });
  }

  /** Stops the tracker's own actor. A tracker created by a `SyncWorker` is stopped by its worker. */
  dispose(): void {
    if (this.#ownsActor) this.actor.stop();
  }

  #recompute(): void {
    const n = this.sampleCount;
    if (n < this.#warmupSamples) return;
    // The samples from the p95's index up: all of them must pass a bound for the p95 to pass it.
    const fromP95 = n - p95Index(n);
    let wanted = this.#lowestMs; // headroom × p95 is at most this: the timeout stays on its floor
    if (this.#aboveFloor >= fromP95)
      wanted = this.#headroom * (this.#sortedSamples()[n - fromP95] as number);
    else this.#sortedValid = false;
    this.#current = Math.min(this.#ceilingMs, wanted);
    if (!this.#warm) {
      this.#warm = true;
      sendIfActive(this.actor, { type: 'WARMED_UP' });
    }
    const saturated = this.#atCeiling >= fromP95;
    if (saturated !== this.#saturated) {
      this.#saturated = saturated;
      sendIfActive(this.actor, { type: saturated ? 'CEILING_REACHED' : 'BELOW_CEILING' });
    }
  }

  /** Counts `sample` in (`by` 1) or out of (`by` −1) the window's two bound counters. */
  #count(sample: number, by: 1 | -1): void {
    const scaled = this.#headroom * sample;
    if (scaled > this.#lowestMs) this.#aboveFloor += by;
    if (scaled >= this.#ceilingMs) this.#atCeiling += by;
  }

  /** The window's samples, sorted (its first `sampleCount` elements), sorting them first if needed. */
  #sortedSamples(): Float64Array {
    if (!this.#sortedValid) {
      sortFrom(this.#sorted, this.#ring, this.sampleCount);
      this.#sortedValid = true;
    }
    return this.#sorted;
  }
}
