/**
 * The latency machine's generated paths driven through a real `LatencyTracker`: each regime
 * change is brought about by the samples `observe()` is fed, or by `reset()`.
 */
import { expect } from 'vitest';
import { latencyMachine } from '../../machines/projections/latency.machine.js';
import { LatencyTracker } from '../../src/index.js';
import { describeRuntimePaths, type RuntimeStep } from '../support/runtime-coverage.js';
import { edgeCoveringPaths } from '../support/transition-coverage.js';

// No warmupSamples: a window of 3 warms up after min(5, 3) = 3 samples.
const settings = { window: 3, defaultMs: 500, floorMs: 10, ceilingMs: 600, headroom: 2 };
const WARMUP_SAMPLES = 3;
/**
 * Below the ceiling once multiplied by the headroom. The first three, the warm-up, stay
 * under the floor (4 × 2 < 10); the next three are the first a BELOW_CEILING step feeds.
 */
const LOW_MS = [2, 4, 3, 30, 45, 12];
/** At or past the ceiling once multiplied: 300 × 2 is exactly 600, the boundary, and comes first. */
const HIGH_MS = [300, 450];

interface World {
  tracker: LatencyTracker;
  /** Every sample fed since the last reset, in order: the test's own record. */
  samples: number[];
  /** How many samples of each list were fed so far, to cycle through it. */
  fed: Map<readonly number[], number>;
}

function feed(world: World, list: readonly number[], times: number): void {
  for (let i = 0; i < times; i++) {
    const n = world.fed.get(list) ?? 0;
    world.fed.set(list, n + 1);
    const ms = list[n % list.length] as number;
    world.tracker.observe(ms);
    world.samples.push(ms);
  }
}

/** The nearest-rank p95 of the last `window` samples, computed here, not by the tracker. */
function expectedP95(samples: readonly number[]): number | undefined {
  const kept = [...samples.slice(-settings.window)].sort((a, b) => a - b);
  return kept.length === 0 ? undefined : kept[Math.ceil((95 * kept.length) / 100) - 1];
}

/** `defaultMs` while warming, then clamp(headroom × p95, floorMs, ceilingMs). */
function expectedTimeout(samples: readonly number[]): number {
  const p95 = expectedP95(samples);
  if (samples.length < WARMUP_SAMPLES || p95 === undefined) return settings.defaultMs;
  return Math.min(settings.ceilingMs, Math.max(settings.floorMs, settings.headroom * p95));
}

describeRuntimePaths('latency', latencyMachine, edgeCoveringPaths(latencyMachine), {
  setUp(inspect): World {
    return { tracker: new LatencyTracker({ ...settings, inspect }), samples: [], fed: new Map() };
  },

  step(world, { event }: RuntimeStep<typeof latencyMachine>) {
    switch (event.type) {
      case 'WARMED_UP':
        // Low samples only: a high one would also reach the ceiling in the same call.
        feed(world, LOW_MS, WARMUP_SAMPLES - world.samples.length);
        break;
      case 'CEILING_REACHED':
        feed(world, HIGH_MS, 1); // the window's p95 is its largest sample
        break;
      case 'BELOW_CEILING':
        feed(world, LOW_MS, settings.window); // until the high sample has left the window
        break;
      case 'RESET':
        world.tracker.reset();
        world.samples = [];
        break;
    }
  },

  check({ tracker, samples }, { after }, label) {
    const warm = samples.length >= WARMUP_SAMPLES;
    expect(tracker.timeout(), `timeout() after ${label}`).toBe(expectedTimeout(samples));
    expect(tracker.isWarm, `isWarm after ${label}`).toBe(warm);
    expect(warm, `the model warm after ${label}`).toBe(!after.matches('warming'));
    expect(tracker.p95, `p95 after ${label}`).toBe(expectedP95(samples));
    expect(tracker.sampleCount, `sampleCount after ${label}`).toBe(
      Math.min(samples.length, settings.window),
    );
    const saturated = warm && settings.headroom * (expectedP95(samples) ?? 0) >= settings.ceilingMs;
    expect(saturated, `the model saturated after ${label}`).toBe(
      after.matches({ adaptive: 'saturated' }),
    );
  },

  tearDown({ tracker }) {
    tracker.dispose();
  },
});
