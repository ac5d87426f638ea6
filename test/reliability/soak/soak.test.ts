/**
 * Soak: millions of closure tasks through the full stack (queue overflow,
 * errors, timeouts, breaker outages and probes) in a child process run with
 * --expose-gc, sampling heapUsed after a full gc at regular intervals. The
 * heap must stay flat. Reduced by default (2M tasks, a sample every 250k);
 * `npm run test:soak` (SOAK=full) runs 10M tasks with a sample every 1M.
 */
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runFixture } from '../support/child.js';

const FULL = process.env.SOAK === 'full';
const TASKS = FULL ? 10_000_000 : 2_000_000;
const EVERY = FULL ? 1_000_000 : 250_000;

interface SoakReport {
  tasks: number;
  accepted: number;
  heapMiB: number[];
  elapsedMs: number;
  breakerOpens: number;
  fates: { success: number; failure: number; doubleFates: number; byError: Record<string, number> };
  stats: {
    completed: number;
    failed: number;
    timedOut: number;
    dropped: number;
    refused: number;
    queued: number;
    running: number;
    state: string;
  };
}

function soak(tasks: number, every: number, ...extra: string[]): Promise<SoakReport> {
  return runFixture('soak.ts', [String(tasks), String(every), ...extra], {
    nodeFlags: ['--expose-gc'],
    limitMs: FULL ? 600_000 : 60_000,
  }).then(({ code, stdout }) => {
    expect(code).toBe(0);
    return lastJsonLine<SoakReport>(stdout);
  });
}

/**
 * Flat: the last sample within 10% + 1 MiB of the first, and no sample above
 * 20% + 2 MiB of it. The first sample is taken after the first interval, so
 * start-up allocation and JIT warm-up are in the baseline.
 */
function flatness(series: readonly number[]) {
  const first = series[0] ?? Number.NaN;
  const last = series.at(-1) ?? Number.NaN;
  const max = Math.max(...series);
  return { first, last, max, flat: last <= first * 1.1 + 1 && max <= first * 1.2 + 2 };
}

describe('soak', () => {
  it(
    `${TASKS.toLocaleString('en')} tasks with overflow, failures, timeouts and breaker flapping: every task one fate, heap flat`,
    async () => {
      const r = await soak(TASKS, EVERY);
      const verdict = flatness(r.heapMiB);
      console.log(
        `soak: ${r.tasks} tasks in ${r.elapsedMs} ms, ${r.breakerOpens} breaker openings; ` +
          `heapUsed after gc every ${EVERY} tasks (MiB): ${r.heapMiB.join(', ')}`,
      );

      // Exactly one fate per task, and the counters account for every one.
      expect(r.tasks).toBe(TASKS);
      expect(r.fates.doubleFates).toBe(0);
      expect(r.fates.success + r.fates.failure).toBe(r.tasks);
      const s = r.stats;
      expect(s.completed).toBe(r.fates.success);
      expect(s.completed + s.failed + s.dropped + s.refused).toBe(r.tasks);
      expect(s).toMatchObject({ queued: 0, running: 0, state: 'shutdown' });
      expect(r.fates.byError.QueueOverflowError).toBe(s.dropped);
      expect(r.fates.byError.TaskTimeoutError).toBe(s.timedOut);

      // Every stress was exercised.
      expect(s.dropped).toBeGreaterThan(0);
      expect(s.refused).toBeGreaterThan(0);
      expect(s.timedOut).toBeGreaterThan(0);
      expect(r.fates.byError.Error).toBeGreaterThan(0);
      expect(r.fates.byError.BreakerOpenError).toBeGreaterThan(0);
      expect(r.breakerOpens).toBeGreaterThan(TASKS / 5_000);

      expect(r.heapMiB).toHaveLength(TASKS / EVERY);
      expect(verdict, `heap series ${r.heapMiB.join(', ')}`).toMatchObject({ flat: true });
    },
    FULL ? 600_000 : 60_000,
  );

  it('control: the flatness check catches a leak of one task object per task', async () => {
    const r = await soak(200_000, 50_000, 'leak');
    console.log(`soak control (leaking): heapUsed (MiB): ${r.heapMiB.join(', ')}`);
    expect(flatness(r.heapMiB).flat).toBe(false);
  }, 60_000);
});
