/**
 * No handle leak: a process that runs a worker and awaits `shutdown()` ends on
 * its own (no process.exit) within a generous 10 s, including with breakers
 * left open and with an inspector attached. test/process-exit.test.ts covers
 * processes that never call shutdown, or do not wait for it; this covers a
 * completed shutdown, after real work on the real clock.
 */
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runFixture } from '../support/child.js';

interface ExitReport {
  mode: string;
  state: string;
  isRunning: boolean;
  breaker: string | undefined;
  stats: { completed: number; failed: number; timedOut: number; queued: number; running: number };
  fates: string[];
  inspected: number;
}

async function runToExit(mode: string): Promise<ExitReport> {
  const { code, stdout, stderr } = await runFixture('shutdown-and-exit.ts', [mode]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const report = lastJsonLine<ExitReport>(stdout);
  expect(report).toMatchObject({ mode, state: 'shutdown', isRunning: false });
  expect(report.stats).toMatchObject({ queued: 0, running: 0 });
  return report;
}

describe('no handle leak: the process exits on its own after shutdown()', () => {
  it('after successes, a failure and a timeout', async () => {
    const report = await runToExit('plain');
    expect(report.fates).toEqual(['ok', 'ok', 'Error', 'TaskTimeoutError']);
  });

  it('after a shutdown deadline aborted a task that never settles', async () => {
    const report = await runToExit('deadline');
    expect(report.fates.slice(-2)).toEqual(['WorkerShutdownError', 'WorkerShutdownError']);
  });

  it("with the worker's breaker and a standalone breaker left open", async () => {
    const report = await runToExit('breaker-open');
    expect(report.breaker).toBe('open');
    expect(report.fates).toEqual(['ok', 'ok', 'Error', 'BreakerOpenError']);
  });

  it('with a callback inspector attached', async () => {
    const report = await runToExit('inspector');
    expect(report.inspected).toBeGreaterThan(0);
  });

  it('with a WebSocket inspector and its local server, stopped after shutdown', async () => {
    const report = await runToExit('websocket-inspector');
    expect(report.inspected).toBeGreaterThan(0);
  });

  it('control: a breaker on a clock with ref’d timers, left open, is caught by the bound', async () => {
    await expect(
      runFixture('shutdown-and-exit.ts', ['control-ref-timer'], { limitMs: 3_000 }),
    ).rejects.toThrow(/did not exit within 3000 ms/);
  });
});
