import { describe, expect, it } from 'vitest';
import { hashSeed, logNormal, mulberry32, standardNormal } from '../../examples/demo/random.js';
import {
  buildScenario,
  DEFAULT_OUTAGE_MS,
  describeScenario,
  midpointOf,
  phaseAt,
  productionMs,
  type ScenarioWire,
  scenarioFromWire,
  scenarioToWire,
} from '../../examples/demo/scenario.js';
import type { PhaseWindow, Scenario } from '../../examples/demo/types.js';

const window = (scenario: Scenario, index: number) => scenario.windows[index] as PhaseWindow;
const lengthOf = (w: PhaseWindow) => w.endMs - w.startMs;

describe('random', () => {
  it('mulberry32 replays the same sequence for the same seed, in [0, 1)', () => {
    const draw = (seed: number) => Array.from({ length: 50 }, mulberry32(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    for (const x of draw(7)) expect(x >= 0 && x < 1).toBe(true);
  });

  it('hashSeed separates its parts and gives unsigned 32-bit values', () => {
    expect(hashSeed('a1', 2)).not.toBe(hashSeed('a', 12));
    expect(hashSeed(7, 's01-t000-u', 0)).toBe(hashSeed(7, 's01-t000-u', 0));
    const hash = hashSeed('é', 3);
    expect(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 32).toBe(true);
  });

  it('a log-normal without spread is its median; draws are finite', () => {
    const random = mulberry32(1);
    expect(logNormal(random, { medianMs: 12, sigma: 0 })).toBe(12);
    const zs = Array.from({ length: 1000 }, () => standardNormal(random));
    for (const z of zs) expect(Number.isFinite(z)).toBe(true);
    expect(Math.abs(zs.reduce((a, b) => a + b, 0) / zs.length)).toBeLessThan(0.2);
  });
});

describe('buildScenario', () => {
  it('is deterministic: the same arguments give a deep-equal scenario', () => {
    expect(buildScenario({ seed: 7, fast: false })).toEqual(
      buildScenario({ seed: 7, fast: false }),
    );
    expect(buildScenario({ seed: 7, fast: true, outageMs: 900 })).toEqual(
      buildScenario({ seed: 7, fast: true, outageMs: 900 }),
    );
  });

  it('moves the boundaries with the seed', () => {
    const starts = (seed: number) =>
      buildScenario({ seed, fast: false }).windows.map((w) => w.startMs);
    expect(starts(1)).not.toEqual(starts(2));
  });

  it('tells the story in order: healthy, spike, outage (refuse, then 503), recovery, healthy', () => {
    const scenario = buildScenario({ seed: 7, fast: false });
    expect(scenario.windows.map((w) => [w.name, w.outage])).toEqual([
      ['healthy', undefined],
      ['spike', undefined],
      ['outage', 'refuse'],
      ['outage', 'unavailable'],
      ['recovery', undefined],
      ['healthy', undefined],
    ]);
    scenario.windows.slice(1).forEach((w, i) => {
      expect(w.startMs).toBe(window(scenario, i).endMs);
    });
    expect(window(scenario, 0).startMs).toBe(0);
    expect(window(scenario, 5).endMs).toBe(Number.POSITIVE_INFINITY);
  });

  it('full mode: phase lengths within ±10%, the outage split 60/40, the models as told', () => {
    for (const seed of [0, 1, 7, 123_456]) {
      const scenario = buildScenario({ seed, fast: false });
      const [healthy, spike, refuse, unavailable, recovery, after] = scenario.windows as [
        PhaseWindow,
        PhaseWindow,
        PhaseWindow,
        PhaseWindow,
        PhaseWindow,
        PhaseWindow,
      ];
      expect(lengthOf(healthy)).toBeGreaterThanOrEqual(7_200);
      expect(lengthOf(healthy)).toBeLessThanOrEqual(8_800);
      expect(lengthOf(spike)).toBeGreaterThanOrEqual(7_200);
      expect(lengthOf(spike)).toBeLessThanOrEqual(8_800);
      expect(lengthOf(recovery)).toBeGreaterThanOrEqual(5_400);
      expect(lengthOf(recovery)).toBeLessThanOrEqual(6_600);
      expect(lengthOf(refuse)).toBe(7_200);
      expect(lengthOf(unavailable)).toBe(4_800);
      expect(healthy.latency).toEqual({ medianMs: 12, sigma: 0.35 });
      expect(healthy.errorRate).toBe(0.01);
      expect(spike.latency).toEqual({ medianMs: 180, sigma: 0.45 });
      expect(spike.errorRate).toBe(0.02);
      expect(recovery).toMatchObject({
        latency: { medianMs: 90, sigma: 0.5 },
        errorRate: 0.1,
        easesIntoNext: true,
      });
      expect(after.latency).toEqual(healthy.latency);
      expect(after.errorRate).toBe(healthy.errorRate);
      expect(scenario).toMatchObject({ seed, coldStartMs: 2_000, coldStartFactor: 4 });
    }
  });

  it('fast mode condenses the story: shorter, halved medians, a short cold start', () => {
    const full = buildScenario({ seed: 7, fast: false });
    const fast = buildScenario({ seed: 7, fast: true });
    expect(productionMs(fast)).toBeLessThan(productionMs(full) / 5);
    expect(productionMs(fast)).toBeLessThan(6_000);
    expect(window(fast, 0).latency.medianMs).toBe(6);
    expect(window(fast, 1).latency.medianMs).toBe(90);
    expect(window(fast, 4).latency.medianMs).toBe(45);
    expect(fast.coldStartMs).toBe(250);
    expect(lengthOf(window(fast, 0))).toBeLessThanOrEqual(8_000 * 0.12 * 1.1);
    expect(lengthOf(window(fast, 2)) + lengthOf(window(fast, 3))).toBe(DEFAULT_OUTAGE_MS.fast);
    expect(lengthOf(window(full, 2)) + lengthOf(window(full, 3))).toBe(DEFAULT_OUTAGE_MS.full);
  });

  it('uses outageMs as given, in both modes, zero included', () => {
    const outage = (s: Scenario) => lengthOf(window(s, 2)) + lengthOf(window(s, 3));
    expect(outage(buildScenario({ seed: 7, fast: false, outageMs: 5_000 }))).toBe(5_000);
    expect(outage(buildScenario({ seed: 7, fast: true, outageMs: 4_000 }))).toBe(4_000);
    const none = buildScenario({ seed: 7, fast: false, outageMs: 0 });
    expect(outage(none)).toBe(0);
    // An empty window is never current: the spike hands over to the recovery.
    expect(phaseAt(none, window(none, 2).startMs).name).toBe('recovery');
  });

  it('rejects a bad seed or outageMs with a RangeError naming the option', () => {
    for (const seed of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => buildScenario({ seed, fast: false })).toThrow(RangeError);
      expect(() => buildScenario({ seed, fast: false })).toThrow(/seed/);
    }
    for (const outageMs of [-1, Number.POSITIVE_INFINITY, Number.NaN, 600_001]) {
      expect(() => buildScenario({ seed: 1, fast: false, outageMs })).toThrow(RangeError);
      expect(() => buildScenario({ seed: 1, fast: false, outageMs })).toThrow(/outageMs/);
    }
    expect(buildScenario({ seed: 0, fast: false, outageMs: 600_000 }).seed).toBe(0);
  });
});

describe('reading a scenario', () => {
  const scenario = buildScenario({ seed: 7, fast: false });
  const [healthy, spike, refuse, unavailable, recovery, after] = scenario.windows as PhaseWindow[];

  it('phaseAt finds the window containing t, start inclusive, end exclusive', () => {
    expect(phaseAt(scenario, -5)).toBe(healthy);
    expect(phaseAt(scenario, 0)).toBe(healthy);
    expect(phaseAt(scenario, spike?.startMs as number)).toBe(spike);
    expect(phaseAt(scenario, (spike?.endMs as number) - 0.5)).toBe(spike);
    expect(phaseAt(scenario, refuse?.startMs as number)).toBe(refuse);
    expect(phaseAt(scenario, unavailable?.startMs as number)).toBe(unavailable);
    expect(phaseAt(scenario, recovery?.startMs as number)).toBe(recovery);
    expect(phaseAt(scenario, 1e9)).toBe(after);
  });

  it('midpointOf gives the middle of the first occurrence, across split windows', () => {
    const middle = (a: PhaseWindow | undefined, b: PhaseWindow | undefined) =>
      ((a?.startMs as number) + (b?.endMs as number)) / 2;
    expect(midpointOf(scenario, 'healthy')).toBe(middle(healthy, healthy));
    expect(midpointOf(scenario, 'spike')).toBe(middle(spike, spike));
    expect(midpointOf(scenario, 'outage')).toBe(middle(refuse, unavailable));
    expect(midpointOf(scenario, 'recovery')).toBe(middle(recovery, recovery));
  });

  it('productionMs runs past the recovery by as long as the recovery (~40 s in all)', () => {
    const recoveryMs = lengthOf(recovery as PhaseWindow);
    expect(productionMs(scenario)).toBe((recovery?.endMs as number) + recoveryMs);
    expect(productionMs(scenario)).toBeGreaterThan(35_000);
    expect(productionMs(scenario)).toBeLessThan(45_000);
  });

  it('describeScenario has a line per window and one for the cold start', () => {
    const lines = describeScenario(scenario);
    expect(lines).toHaveLength(scenario.windows.length + 1);
    expect(lines[0]).toMatch(/^healthy {4}0\.0–\d+\.\d s +median 12 ms {2}errors 1%$/);
    expect(lines[2]).toMatch(/^outage .*connections refused$/);
    expect(lines[3]).toMatch(/^outage .*503/);
    expect(lines[4]).toMatch(/median 90 → 12 ms {2}errors 10% → 1%/);
    expect(lines[5]).toMatch(/^healthy +from \d+\.\d s/);
    expect(lines[6]).toMatch(/^cold start 0\.0–2\.0 s +4× slower/);
  });

  it('crosses JSON with its endless last window intact', () => {
    const wire = JSON.parse(JSON.stringify(scenarioToWire(scenario))) as ScenarioWire;
    expect(wire.windows.at(-1)?.endMs).toBeNull();
    const back = scenarioFromWire(wire);
    expect(back).toEqual(scenario);
    expect(back.windows.at(-1)?.endMs).toBe(Number.POSITIVE_INFINITY);
  });
});
