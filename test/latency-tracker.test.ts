import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyTracker } from '../src/index.js';

/** The p95 the issue pins: the element at ceil(0.95 × n) − 1 of the sorted window. */
function nearestRankP95(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.ceil((95 * sorted.length) / 100) - 1] as number;
}

/** The reference's own formula, which picks one rank lower for n = 12…19. */
function seedP95(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  return sorted[Math.min(n - 1, Math.max(0, Math.round(0.95 * (n - 1))))] as number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('LatencyTracker', () => {
  it('returns the default until warmupSamples samples have arrived', () => {
    const tracker = new LatencyTracker({ defaultMs: 9_000, warmupSamples: 3, floorMs: 0 });
    tracker.observe(100);
    tracker.observe(100);
    expect(tracker.timeout()).toBe(9_000);
    expect(tracker.actor.getSnapshot().value).toBe('warming');
    tracker.observe(100);
    expect(tracker.timeout()).toBe(300);
    expect(tracker.actor.getSnapshot().value).toEqual({ adaptive: 'tracking' });
  });

  it('with a window below 5 and no warmupSamples, warms up once the window is full', () => {
    const tracker = new LatencyTracker({ window: 3, defaultMs: 9_000, floorMs: 0 });
    tracker.observe(100);
    tracker.observe(100);
    expect(tracker.timeout()).toBe(9_000);
    expect(tracker.isWarm).toBe(false);
    tracker.observe(100);
    expect(tracker.isWarm).toBe(true);
    expect(tracker.timeout()).toBe(300);
  });

  it('an unset warmupSamples stays 5 when the window allows it', () => {
    const tracker = new LatencyTracker({ window: 6, floorMs: 0 });
    for (let i = 0; i < 4; i++) tracker.observe(100);
    expect(tracker.isWarm).toBe(false);
    tracker.observe(100);
    expect(tracker.isWarm).toBe(true);
  });

  it('gives max(floor, headroom × p95), capped by the ceiling', () => {
    const tracker = new LatencyTracker({
      floorMs: 1_000,
      ceilingMs: 10_000,
      headroom: 2,
      warmupSamples: 1,
    });
    tracker.observe(100);
    expect(tracker.timeout()).toBe(1_000); // 200 is below the floor
    tracker.observe(4_000);
    expect(tracker.timeout()).toBe(8_000);
    tracker.observe(9_000);
    expect(tracker.timeout()).toBe(10_000); // 18 000 is above the ceiling
    expect(tracker.actor.getSnapshot().value).toEqual({ adaptive: 'saturated' });
  });

  it('leaves the saturated regime when the p95 falls below the ceiling again', () => {
    const tracker = new LatencyTracker({
      window: 2,
      warmupSamples: 1,
      floorMs: 0,
      ceilingMs: 1_000,
      headroom: 1,
    });
    tracker.observe(2_000);
    expect(tracker.actor.getSnapshot().value).toEqual({ adaptive: 'saturated' });
    tracker.observe(10);
    tracker.observe(10);
    expect(tracker.timeout()).toBe(10);
    expect(tracker.actor.getSnapshot().value).toEqual({ adaptive: 'tracking' });
  });

  it('caps the warm-up default by the ceiling', () => {
    expect(new LatencyTracker({ ceilingMs: 10_000 }).timeout()).toBe(10_000);
  });

  it('allows a floor of 0, but never gives a timeout below 1 ms', () => {
    const tracker = new LatencyTracker({ floorMs: 0, warmupSamples: 1, window: 1 });
    tracker.observe(2);
    expect(tracker.timeout()).toBe(6);
    tracker.observe(0); // instant calls: 3 × 0 would fail every next call at once
    expect(tracker.timeout()).toBe(1);
  });

  it.each([
    Number.NaN,
    -1,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    '5',
    null,
    undefined,
  ])('ignores the sample %s', (bad) => {
    const tracker = new LatencyTracker({ warmupSamples: 1 });
    tracker.observe(bad as number);
    expect(tracker.sampleCount).toBe(0);
    expect(tracker.timeout()).toBe(30_000);
  });

  it('pins the true nearest-rank p95 where the reference picked one rank lower (n = 12…19)', () => {
    for (let n = 12; n <= 19; n++) {
      const samples = range(n);
      const tracker = new LatencyTracker({ window: 20, warmupSamples: 1 });
      for (const s of samples) tracker.observe(s);
      expect(tracker.p95, `n=${n}`).toBe(n); // ceil(0.95 n) − 1 = n − 1: the largest
      expect(seedP95(samples), `reference at n=${n}`).toBe(n - 1);
    }
  });

  it('agrees with the reference where its formula is right (n = 1…11 and 20)', () => {
    for (const n of [...range(11), 20]) {
      const tracker = new LatencyTracker({ window: 20, warmupSamples: 1 });
      for (const s of range(n)) tracker.observe(s);
      expect(tracker.p95, `n=${n}`).toBe(seedP95(range(n)));
    }
  });

  it('keeps the p95 of the last `window` samples, whatever their order (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        // Repeated values too: the sorted window must handle ties when a sample leaves.
        fc.array(fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom(1, 2, 3)), {
          maxLength: 300,
        }),
        (window, samples) => {
          const tracker = new LatencyTracker({
            window,
            warmupSamples: 1,
            floorMs: 0,
            ceilingMs: 2e6,
            headroom: 1,
          });
          samples.forEach((s, i) => {
            tracker.observe(s);
            expect(tracker.p95).toBe(
              nearestRankP95(samples.slice(Math.max(0, i + 1 - window), i + 1)),
            );
          });
          const kept = samples.slice(-window);
          expect(tracker.sampleCount).toBe(kept.length);
          if (kept.length > 0) {
            expect(tracker.p95).toBe(nearestRankP95(kept));
            expect(tracker.timeout()).toBe(Math.max(1, nearestRankP95(kept)));
          }
        },
      ),
      { seed: 20261124, numRuns: 300 },
    );
  });

  it('gives the timeout, warmth and saturation the formula gives, whether or not the p95 is read between samples (property)', () => {
    // Samples around every bound (floor, ceiling, their ties) with random settings: observe
    // counts samples against the bounds and sorts only while the p95 can lift the timeout.
    const settingsArb = fc.record({
      window: fc.integer({ min: 1, max: 30 }),
      floorMs: fc.constantFrom(0, 0.5, 10, 300),
      ceilingMs: fc.constantFrom(300, 1_000, 5_000),
      headroom: fc.constantFrom(0.5, 1, 3, 7.3),
      warmup: fc.integer({ min: 1, max: 30 }),
    });
    const sampleArb = fc.oneof(
      fc.double({ min: 0, max: 2_000, noNaN: true }),
      fc.constantFrom(0, 0.1, 1, 10 / 3, 100, 300 / 7.3, 1_000 / 3, 5_000 / 7.3),
    );
    const stepArb = fc.record({ sample: sampleArb, readP95: fc.boolean(), reset: fc.nat(40) });
    fc.assert(
      fc.property(settingsArb, fc.array(stepArb, { maxLength: 200 }), (o, steps) => {
        const floorMs = Math.min(o.floorMs, o.ceilingMs);
        const warmupSamples = Math.min(o.warmup, o.window);
        const tracker = new LatencyTracker({
          window: o.window,
          floorMs,
          ceilingMs: o.ceilingMs,
          headroom: o.headroom,
          warmupSamples,
          defaultMs: 777,
        });
        let kept: number[] = [];
        for (const step of steps) {
          if (step.reset === 0) {
            tracker.reset();
            kept = [];
          }
          tracker.observe(step.sample);
          kept = [...kept, step.sample].slice(-o.window);
          const warm = kept.length >= warmupSamples;
          const wanted = o.headroom * nearestRankP95(kept);
          const expected = warm
            ? Math.min(o.ceilingMs, Math.max(floorMs, wanted, 1))
            : Math.min(777, o.ceilingMs);
          expect(tracker.timeout()).toBe(expected);
          expect(tracker.actor.getSnapshot().matches({ adaptive: 'saturated' })).toBe(
            warm && wanted >= o.ceilingMs,
          );
          if (step.readP95) expect(tracker.p95).toBe(nearestRankP95(kept));
        }
        tracker.dispose();
      }),
      { seed: 20261202, numRuns: 400 },
    );
  });

  it('holds at most `window` samples', () => {
    const tracker = new LatencyTracker({ window: 8 });
    for (let i = 0; i < 10_000; i++) tracker.observe(i % 97);
    expect(tracker.sampleCount).toBe(8);
  });

  it('reset() forgets the samples and returns to warming', () => {
    const tracker = new LatencyTracker({ warmupSamples: 1, floorMs: 0 });
    tracker.observe(10);
    expect(tracker.isWarm).toBe(true);
    tracker.reset();
    expect(tracker.sampleCount).toBe(0);
    expect(tracker.p95).toBeUndefined();
    expect(tracker.timeout()).toBe(30_000);
    expect(tracker.actor.getSnapshot().value).toBe('warming');
    tracker.observe(10);
    expect(tracker.timeout()).toBe(30);
  });

  it('dispose() stops its own actor', () => {
    const tracker = new LatencyTracker();
    tracker.dispose();
    expect(tracker.actor.getSnapshot().status).toBe('stopped');
  });

  it('uses the reference defaults', () => {
    const tracker = new LatencyTracker();
    for (let i = 0; i < 4; i++) tracker.observe(1_000);
    expect(tracker.timeout()).toBe(30_000); // warmup 5
    tracker.observe(1_000);
    expect(tracker.timeout()).toBe(5_000); // floor 5 000 > 3 × 1 000
    for (let i = 0; i < 20; i++) tracker.observe(2_000);
    expect(tracker.timeout()).toBe(6_000); // headroom 3, window 20
  });
});
