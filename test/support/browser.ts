/**
 * Opens an HTML report in headless Chromium (the system's, via playwright-core)
 * and reports what a person would notice: errors, network use, blank series.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import {
  CHROMIUM_PATH,
  hasChromium,
  launchChromium,
  MISSING_CHROMIUM_HINT,
} from '../../examples/demo/browser.js';

export { CHROMIUM_PATH, hasChromium, MISSING_CHROMIUM_HINT };

/** What {@link checkReportInBrowser} saw. */
export interface BrowserCheck {
  /** Console messages of type `error`, including Content-Security-Policy violations. */
  consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** Requests that failed, and any request for something other than a local file. */
  failedRequests: string[];
  /**
   * For each `data-series` name, the drawn extent in px: the larger side of
   * the bounding box of its `.series` element(s), 0 when nothing is drawn.
   */
  seriesDrawn: Record<string, number>;
  /** Machine diagrams (`figure.diagram svg`) on the page. */
  diagramCount: number;
  /** Elements marked `.visited` inside those diagrams. */
  highlightedCount: number;
}

const VIEWPORT = { width: 1280, height: 900 };

/**
 * Loads `htmlFile` by `file://` URL in headless Chromium, measures it, and
 * saves a full-page PNG to `screenshotFile` (creating its folder).
 */
export async function checkReportInBrowser(
  htmlFile: string,
  screenshotFile: string,
): Promise<BrowserCheck> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    const seen = watchPage(page);
    await page.goto(pathToFileURL(path.resolve(htmlFile)).href, { waitUntil: 'load' });
    const measured = await measure(page);
    await mkdir(path.dirname(path.resolve(screenshotFile)), { recursive: true });
    await page.screenshot({ path: screenshotFile, fullPage: true });
    return { ...seen, ...measured };
  } finally {
    await browser.close();
  }
}

/** Starts collecting errors and requests; the arrays fill as the page loads. */
function watchPage(
  page: Page,
): Pick<BrowserCheck, 'consoleErrors' | 'pageErrors' | 'failedRequests'> {
  const seen = {
    consoleErrors: [] as string[],
    pageErrors: [] as string[],
    failedRequests: [] as string[],
  };
  page.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => seen.pageErrors.push(error.message));
  page.on('requestfailed', (request) =>
    seen.failedRequests.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`),
  );
  page.on('request', (request) => {
    // The report itself is the only file:// load; anything else means it is not self-contained.
    if (!request.url().startsWith('file:'))
      seen.failedRequests.push(`not a local file: ${request.url()}`);
  });
  return seen;
}

/** Runs in the page: series extents and diagram counts. */
function measure(
  page: Page,
): Promise<Pick<BrowserCheck, 'seriesDrawn' | 'diagramCount' | 'highlightedCount'>> {
  return page.evaluate(() => {
    const seriesDrawn: Record<string, number> = {};
    // Array.from: the project's DOM typings do not make a NodeList iterable.
    for (const element of Array.from(
      document.querySelectorAll<SVGGraphicsElement>('.series[data-series]'),
    )) {
      const name = element.dataset.series ?? '';
      const box = element.getBBox();
      seriesDrawn[name] = Math.max(seriesDrawn[name] ?? 0, box.width, box.height);
    }
    return {
      seriesDrawn,
      diagramCount: document.querySelectorAll('figure.diagram svg').length,
      highlightedCount: document.querySelectorAll('figure.diagram svg .visited').length,
    };
  });
}
