/**
 * The live view as a person sees it: headless Chromium (the system's, via
 * playwright-core) on the page while a worker's breaker trips, probes and
 * closes. Skipped without Chromium locally; under CI a missing one fails.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../examples/demo/browser.js';
import { memoryBacklog } from '../../src/index.js';
import { serveLiveView } from '../../src/live/index.js';
import { hasChromium, MISSING_CHROMIUM_HINT } from '../support/browser.js';
import { simulatedWorker } from '../support/worker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = path.join(ROOT, '.vitest-artifacts');

/** Resolves once the breaker's diagram highlights exactly `titles` (state ids, `cluster_<id>` for compounds). */
async function breakerShows(page: Page, titles: string[]): Promise<void> {
  await page.waitForFunction(
    (wanted) => {
      const lit = Array.from(
        document.querySelectorAll('figure.diagram[data-machine="breaker"] g.current > title'),
      ).map((title) => title.textContent);
      return lit.length === wanted.length && wanted.every((title) => lit.includes(title));
    },
    titles,
    { timeout: 10_000 },
  );
}

/** The breaker's rows in the list of changes, oldest first, as `from → to`. */
function breakerRows(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('#changes li[data-machine="breaker"]'))
      .reverse()
      .map((row) => row.textContent?.replace(/^#\d+\s*[\d:.]+\s*breaker/, '').trim() ?? ''),
  );
}

describe('the live view in headless Chromium', () => {
  const required = Boolean(process.env.CI);
  const skip = !hasChromium() && !required;
  if (skip) console.info(`skipping the browser check of the live view: ${MISSING_CHROMIUM_HINT}`);
  let browser: Browser | undefined;
  afterAll(() => browser?.close());

  it.skipIf(skip)(
    'highlights the breaker closed → open → half_open → closed, with no error and no other origin',
    async () => {
      if (!hasChromium())
        throw new Error(
          `CI runs the live view's browser check, but found ${MISSING_CHROMIUM_HINT}`,
        );
      const { worker, clock } = simulatedWorker({
        name: 'live-view-test',
        breaker: { failureThreshold: 2, probeIntervalMs: 1_000 },
        backlog: memoryBacklog(),
        handlers: { write: () => {} },
      });
      const live = await serveLiveView(worker);
      const origin = new URL(live.url).origin;
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
      page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
      page.on('request', (request) => {
        if (new URL(request.url()).origin !== origin) problems.push(`elsewhere: ${request.url()}`);
      });
      let releaseProbe: (() => void) | undefined;
      try {
        await page.goto(live.url, { waitUntil: 'load' });
        await page.waitForSelector('#connection[data-status="live"]');
        await breakerShows(page, ['breaker.closed']);

        for (let i = 0; i < 2; i++) {
          worker.enqueue({
            run: () => Promise.reject(new Error('remote down')),
            onFailure: () => {},
          });
        }
        await breakerShows(page, ['breaker.open']);

        clock.increment(1_000);
        // With nothing kept in the backlog, this closure task is the half-open probe.
        worker.enqueue({ run: () => new Promise<void>((resolve) => (releaseProbe = resolve)) });
        // The probe's task is held until the page has shown half_open.
        await breakerShows(page, ['breaker.half_open.probing', 'cluster_breaker.half_open']);
        expect(releaseProbe).toBeTypeOf('function');
        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: path.join(ARTIFACTS, 'live-view.png'), fullPage: true });

        releaseProbe?.();
        await breakerShows(page, ['breaker.closed']);

        expect(await breakerRows(page)).toEqual([
          'closed → open',
          'open → half_open.awaitingProbe',
          'half_open.awaitingProbe → half_open.probing',
          'half_open.probing → closed',
        ]);
        const seqs = await page.evaluate(() =>
          Array.from(document.querySelectorAll<HTMLElement>('#changes li[data-seq]')).map((row) =>
            Number(row.dataset.seq),
          ),
        );
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs.length - i));
        expect(await page.locator('#changes li.gap').count()).toBe(0);
        // A caption names the whole state, though a row names only the regions that changed.
        expect(await page.getAttribute('figure[data-machine="worker"]', 'data-state')).toMatch(
          /^active\.admission\.open \+ active\.drain\.\w+$/,
        );
        // The reader may hide a machine's rows; they stay in the list, in order.
        await page.uncheck('.filters input[data-machine="worker"]');
        expect(await page.locator('#changes li[data-machine="worker"]:visible').count()).toBe(0);
        expect(await page.locator('#changes li[data-machine="worker"]').count()).toBeGreaterThan(0);
        expect(await page.locator('#changes li[data-machine="breaker"]:visible').count()).toBe(4);
        const drawn = await page.evaluate(() =>
          Array.from(document.querySelectorAll<SVGPolylineElement>('figure.chart polyline')).map(
            (line) => (line.getAttribute('points') ?? '').length > 0,
          ),
        );
        expect(drawn.slice(0, 3)).toEqual([true, true, true]); // p95 has no sample on a simulated clock
        expect(problems).toEqual([]);
      } finally {
        await page.close();
        await live.close();
        releaseProbe?.();
        // The worker's clock is simulated: its shutdown deadline passes when the test says.
        const stopped = worker.shutdown({ timeoutMs: 0 });
        clock.increment(1);
        await stopped;
      }
    },
    60_000,
  );
});
