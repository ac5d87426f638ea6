/**
 * `npm start` end to end, as a newcomer and CI run it: the condensed run, the
 * kill-and-resume path, and an end check that fails when the service's store
 * lost or duplicated a batch. Each run is a real process with a real HTTP
 * service child, so bounds here are generous limits, never timing assertions.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryService } from '../../examples/demo/memoryService.js';
import type { StoreLine } from '../../examples/demo/serviceStore.js';
import { checkReportInBrowser, hasChromium, MISSING_CHROMIUM_HINT } from '../support/browser.js';
import { eventually, isAlive } from '../support/process.js';
import { healthyScenario } from './fixtures/healthyScenario.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = path.join(ROOT, '.vitest-artifacts');
const LIMIT_MS = 60_000;

interface DemoResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm start`'s script with `args`, as CI does (plain lines), and resolves when it exits. */
function runDemo(args: readonly string[]): Promise<DemoResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/demo/main.ts', ...args],
      { cwd: ROOT, env: { ...process.env, CI: 'true' }, timeout: LIMIT_MS, maxBuffer: 2 ** 24 },
      (error, stdout, stderr) => {
        if (error?.killed && error.signal === 'SIGTERM') {
          reject(new Error(`the demo did not exit within ${LIMIT_MS} ms:\n${stdout}\n${stderr}`));
          return;
        }
        resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
      },
    );
  });
}

/** The memory service's pid, from the line the demo prints when it starts it. */
function servicePid(stdout: string): number {
  const match = /memory service listening at \S+ \(pid (\d+)\)/.exec(stdout);
  if (!match) throw new Error(`no service pid in:\n${stdout}`);
  return Number(match[1]);
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'demo-e2e-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm start: the command line', () => {
  it('--help lists every option and exits 0', async () => {
    const { code, stdout } = await runDemo(['--help']);
    expect(code).toBe(0);
    for (const option of [
      '--sessions',
      '--turns',
      '--outage-ms',
      '--seed',
      '--backlog',
      '--report',
      '--fast',
      '--inspect',
      '--live',
      '--kill-at',
      '--resume',
      '--honcho-url',
      '--honcho-key',
    ]) {
      expect(stdout).toContain(option);
    }
  });

  it('a bad option exits 2 and says what is wrong', async () => {
    const { code, stderr } = await runDemo(['--kill-at', 'outage']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--kill-at needs --backlog <dir>/);
    expect(stderr).toContain('usage: npm start');
  });
});

describe('npm start -- --fast', () => {
  const report = path.join(ARTIFACTS, 'demo-e2e-report.html');

  it(
    'tells the whole story, checks the store, and writes the report',
    async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      const { code, stdout, stderr } = await runDemo(['--fast', '--report', report]);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      for (const step of [
        'remote  latency spike',
        'remote  outage: connections refused',
        'breaker closed → open',
        'backlog live → replaying',
        'breaker open → half_open',
        'breaker half_open → closed',
        'backlog replaying → live',
        'backlog live → closed',
      ]) {
        expect(stdout).toContain(step);
      }
      // Drained before shutdown(): nothing to wait for, so no `stopping` on the way.
      expect(stdout).toMatch(/worker {2}(idle|draining) → shutdown/);
      expect(stdout).toMatch(/✔ all 160 required turns \(320 messages in 160 turns stored\)/);
      expect(stdout).toMatch(/dead letters\s+0/);
      expect(existsSync(report)).toBe(true);
      expect(isAlive(servicePid(stdout))).toBe(false);
    },
    LIMIT_MS,
  );

  it.skipIf(!hasChromium() && !process.env.CI)(
    'its report loads in Chromium with every series drawn and nothing failing',
    async () => {
      if (!hasChromium()) throw new Error(`CI checks the report in ${MISSING_CHROMIUM_HINT}`);
      expect(existsSync(report), 'the run above wrote the report').toBe(true);
      const seen = await checkReportInBrowser(report, path.join(ARTIFACTS, 'demo-e2e-report.png'));
      expect(seen.consoleErrors).toEqual([]);
      expect(seen.pageErrors).toEqual([]);
      expect(seen.failedRequests).toEqual([]);
      for (const [series, extent] of Object.entries(seen.seriesDrawn)) {
        expect(extent, series).toBeGreaterThan(0);
      }
      expect(Object.keys(seen.seriesDrawn)).toEqual(
        expect.arrayContaining(['breaker', 'backlog', 'calls', 'timeout', 'delivered']),
      );
      expect(seen.diagramCount).toBe(4);
      expect(seen.highlightedCount).toBeGreaterThan(0);
    },
    LIMIT_MS,
  );
});

describe('npm start -- --honcho-url', () => {
  it(
    'writes through the SDK to the Honcho server given, with no fault schedule, and checks its listing',
    async () => {
      // A Honcho-shaped server of its own: the demo service, started apart and always healthy.
      const server = await createMemoryService({
        file: path.join(scratch, 'honcho-server.jsonl'),
        scenario: healthyScenario(2, 0.3),
      });
      try {
        const report = path.join(scratch, 'honcho-url-report.html');
        const { code, stdout, stderr } = await runDemo([
          '--fast',
          '--honcho-url',
          server.url,
          '--honcho-key',
          'demo-key',
          '--report',
          report,
        ]);
        expect(code, `${stdout}\n${stderr}`).toBe(0);
        expect(stdout).toContain(
          `writing to the Honcho server at ${server.url}, workspace xsw-demo-`,
        );
        expect(stdout).toContain('fault schedule: none');
        expect(stdout).not.toContain('memory service listening');
        expect(stdout).toMatch(
          /✔ all 160 required turns \(160 turns stored\) arrived, each session in order; 0 message\(s\) stored more than once/,
        );
        expect(server.counts().stored).toBeGreaterThan(0);
        expect(readFileSync(report, 'utf8')).toContain(`--honcho-url ${server.url}`);
      } finally {
        await server.close();
      }
    },
    LIMIT_MS,
  );
});

describe('npm start -- --kill-at outage, then --resume', () => {
  const run = path.join(scratch, 'run');
  const tampered = path.join(scratch, 'tampered');

  it(
    'the killed run dies by SIGKILL mid-outage and leaves no service behind',
    async () => {
      const { signal, stdout } = await runDemo(['--fast', '--backlog', run, '--kill-at', 'outage']);
      expect(signal).toBe('SIGKILL');
      expect(stdout).toContain('--kill-at outage: SIGKILL now');
      expect(stdout).not.toContain('summary');
      expect(await eventually(() => !isAlive(servicePid(stdout)), 10_000)).toBe(true);
      expect(readFileSync(path.join(run, 'demo-flushed.jsonl'), 'utf8')).not.toBe('');
      // A copy to damage below: nothing holds the killed run's files now.
      cpSync(run, tampered, { recursive: true });
    },
    LIMIT_MS,
  );

  it(
    '--resume delivers the rest from the backlog and checks both runs',
    async () => {
      const { code, stdout, stderr } = await runDemo(['--fast', '--backlog', run, '--resume']);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      expect(stdout).toMatch(/resuming: \d+ turns kept in the backlog/);
      expect(stdout).toMatch(/✔ all \d+ required turns/);
      expect(stdout).toMatch(/turns produced \(this run\)\s+0/);
    },
    LIMIT_MS,
  );

  it(
    'the end check fails, exit 1, when the service lost one batch and stored another twice',
    async () => {
      const store = path.join(tampered, 'memory-service.jsonl');
      const lines = readFileSync(store, 'utf8').trimEnd().split('\n');
      const batches = lines.flatMap((line, index) => {
        const parsed = JSON.parse(line) as StoreLine;
        return parsed.kind === 'messages' ? [{ index, messages: parsed.messages }] : [];
      });
      const [first, second] = batches as [(typeof batches)[0], (typeof batches)[0]];
      const kept = lines.filter((_, i) => i !== first.index);
      writeFileSync(store, `${[...kept, lines[second.index]].join('\n')}\n`);
      const { code, stdout } = await runDemo(['--fast', '--backlog', tampered, '--resume']);
      expect(code).toBe(1);
      const taskOf = (m: { metadata: Record<string, unknown> }) => m.metadata.task_id as string;
      const lost = [...new Set(first.messages.map(taskOf))].sort();
      expect(stdout).toMatch(new RegExp(`✘ LOST ${lost.length} turn\\(s\\): ${lost[0]}`));
      expect(stdout).toMatch(new RegExp(`✘ DUPLICATED ${second.messages.length} message\\(s\\)`));
      expect(stdout).toMatch(/✘ OUT OF ORDER/);
    },
    LIMIT_MS,
  );
});
