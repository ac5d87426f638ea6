/**
 * `npm start -- --fast --live` as a person runs it: the demo prints the live
 * view's URL, and the page there follows the run's actors through the
 * outage. A real process; its bound is a generous limit, not a timing assertion.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fetchRaw, type LiveEvent, openEvents } from '../support/live.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIMIT_MS = 60_000;

const breakerTo = (to: string) => (event: LiveEvent) =>
  event.data.changes.some((change) => change.machine === 'breaker' && change.to === to);

describe('npm start -- --live', () => {
  it(
    'prints the live view’s URL and serves the run’s machines there while it runs',
    async () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'examples/demo/main.ts', '--fast', '--live', '--report', '/dev/null'],
        { cwd: ROOT, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          const match = /live view: open (http:\/\/127\.0\.0\.1:\d+\/) \(loopback only/.exec(
            stdout,
          );
          if (match) resolve(match[1] as string);
        });
        exited.then(() => reject(new Error(`the demo exited without a live view:\n${stdout}`)));
      });
      try {
        const page = await fetchRaw(url);
        expect(page.status).toBe(200);
        expect(page.body).toMatch(/<figure class="diagram" data-machine="backlog"/);
        const stream = await openEvents(url);
        // The outage trips the breaker: the page hears it (from the ring, if it came first).
        const opened = await stream.next(breakerTo('open'));
        expect(opened.data.changes.find((c) => c.machine === 'breaker')?.from).toBe('closed');
        await stream.next(breakerTo('closed'));
        await stream.ended; // the demo closes its live view when the run is over
      } finally {
        const code = await exited;
        expect(code, stdout).toBe(0);
      }
    },
    LIMIT_MS,
  );
});
