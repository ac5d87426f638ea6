import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../examples/demo/report.js';
import { renderMachineDiagrams } from '../../examples/demo/reportDiagrams.js';
import { renderTimeline } from '../../examples/demo/reportTimeline.js';
import type { RunRecord, TimelineSample } from '../../examples/demo/types.js';
import { checkReportInBrowser, hasChromium, MISSING_CHROMIUM_HINT } from '../support/browser.js';
import { syntheticRun } from './fixtures/run.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** CI uploads this folder as the run's artifacts (it is gitignored). */
const ARTIFACTS = path.join(ROOT, '.vitest-artifacts');
const SERIES = [
  'phase',
  'breaker',
  'queued',
  'backlog',
  'calls',
  'timeout',
  'p95',
  'delivered',
  'produced',
] as const;

/** The markup of one `.series` group, from its start tag to its matching `</g>`. */
function seriesMarkup(html: string, name: string): string {
  const start = html.indexOf(`<g class="series" data-series="${name}">`);
  if (start < 0) return '';
  let depth = 0;
  const tags = /<g[\s>]|<\/g>/g;
  tags.lastIndex = start;
  for (let match = tags.exec(html); match; match = tags.exec(html)) {
    depth += match[0] === '</g>' ? -1 : 1;
    if (depth === 0) return html.slice(start, match.index + 4);
  }
  return html.slice(start);
}

/** Whether a series group holds at least one drawn shape. */
function drawsSomething(markup: string): boolean {
  return /<(path d="M|rect |circle )/.test(markup);
}

/** The Graphviz titles (state ids, `cluster_<id>` for compound states) of elements marked visited. */
function visitedTitles(html: string): Set<string> {
  const marked = /class="(?:node|cluster) visited">\s*<title>([^<]*)<\/title>/g;
  return new Set([...html.matchAll(marked)].map((match) => match[1] ?? ''));
}

function sample(t: number, overrides: Partial<TimelineSample> = {}): TimelineSample {
  return {
    t,
    phase: 'healthy',
    actors: { breaker: 'closed', worker: 'draining', tracker: 'warming', backlog: 'live' },
    queued: 0,
    backlog: 0,
    timeoutMs: 1000,
    p95Ms: undefined,
    delivered: 0,
    produced: 0,
    ...overrides,
  };
}

describe('renderReport', () => {
  let record: RunRecord;
  let html: string;

  beforeAll(async () => {
    record = syntheticRun();
    html = await renderReport(record);
  });

  it('is self-contained: nothing to load from the network, no script', () => {
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toMatch(/<script/i);
  });

  it('never writes NaN or Infinity', () => {
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('draws every series of the timeline', () => {
    expect(html).toContain('<svg id="timeline"');
    for (const name of SERIES) {
      expect(drawsSomething(seriesMarkup(html, name)), `series ${name}`).toBe(true);
    }
  });

  it('puts the scenario on the run timeline at its offset', () => {
    // The outage is 22–34 s into the scenario, which started 0.5 s into the run.
    expect(html).toContain('scenario: outage · 22.5 s – 34.5 s (12.0 s)');
    expect(html).toMatch(/<td class="num">22\.0 s – 34\.0 s<\/td>/);
  });

  it('draws the four machines with the visited states and their ancestors highlighted', () => {
    expect(html.match(/<figure class="diagram"/g)).toHaveLength(4);
    expect(html).not.toMatch(/<\?xml|<!DOCTYPE svg/);
    const visited = visitedTitles(html);
    for (const id of [
      'breaker.half_open.probing',
      'cluster_breaker.half_open',
      'worker.active.drain.blocked',
      'cluster_worker.active.drain',
      'backlog.open.reads.replaying',
      'cluster_backlog.open.reads',
      'cluster_backlog.open',
      'tracker.adaptive.saturated',
    ]) {
      expect(visited, id).toContain(id);
    }
  });

  it('shows a green verdict when the run passed, a red one with the reasons when not', async () => {
    expect(html).toContain('class="verdict ok"');
    expect(html).toContain('Every message arrived exactly once, in order.');
    const failed = await renderReport({
      ...record,
      verdict: { ok: false, lines: ['session s3: turn <2> missing'] },
    });
    expect(failed).toContain('class="verdict fail"');
    expect(failed).toContain('<li>session s3: turn &lt;2&gt; missing</li>');
  });

  it('escapes the text it shows', async () => {
    const page = await renderReport({
      ...record,
      title: 'run <script>alert(1)</script>',
      options: { note: '"quoted" & <tagged>' },
      summary: [['<b>label</b>', '1 < 2']],
    });
    expect(page).not.toContain('<script>');
    expect(page).toContain('run &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('--note &quot;quoted&quot; &amp; &lt;tagged&gt;');
    expect(page).toContain('&lt;b&gt;label&lt;/b&gt;');
  });
});

describe('renderMachineDiagrams', () => {
  it('highlights only the visited states and their ancestors', async () => {
    const diagrams = await renderMachineDiagrams({ breaker: ['breaker.half_open.probing'] });
    const breaker = diagrams.find((diagram) => diagram.stem === 'breaker');
    expect(visitedTitles(breaker?.svg ?? '')).toEqual(
      new Set(['breaker.half_open.probing', 'cluster_breaker.half_open']),
    );
    expect(breaker?.unvisited).toEqual([
      'breaker.closed',
      'breaker.open',
      'breaker.half_open.awaitingProbe',
    ]);
    const others = diagrams.filter((diagram) => diagram.stem !== 'breaker');
    expect(others.map((diagram) => visitedTitles(diagram.svg).size)).toEqual([0, 0, 0]);
  });

  it('lists recorded ids the machine does not have instead of failing', async () => {
    const diagrams = await renderMachineDiagrams({
      worker: ['worker.active.drain.idle', 'worker.gone'],
    });
    const worker = diagrams.find((diagram) => diagram.stem === 'worker');
    expect(worker?.visited).toEqual(['worker.active.drain.idle']);
    expect(worker?.unknown).toEqual(['worker.gone']);
  });
});

describe('renderTimeline edge cases', () => {
  const base = syntheticRun();

  it('draws no call dots, and no NaN, when there were no calls', () => {
    const svg = renderTimeline({ ...base, calls: [] });
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(seriesMarkup(svg, 'calls')).not.toContain('<circle');
    expect(drawsSomething(seriesMarkup(svg, 'timeout'))).toBe(true);
  });

  it('draws a single sample as a dot on each line', () => {
    const svg = renderTimeline({
      ...base,
      durationMs: 0,
      samples: [sample(0, { queued: 3, produced: 3, p95Ms: 12 })],
      calls: [{ t: 0, durationMs: 0, outcome: 'stored' }],
    });
    expect(svg).not.toMatch(/NaN|Infinity/);
    for (const name of ['queued', 'produced', 'p95', 'timeout', 'breaker']) {
      expect(drawsSomething(seriesMarkup(svg, name)), name).toBe(true);
    }
    expect(seriesMarkup(svg, 'queued')).toMatch(/h0\.1/);
  });

  it('leaves the p95 out while it is undefined everywhere', () => {
    const samples = base.samples.map((s) => ({ ...s, p95Ms: undefined }));
    const svg = renderTimeline({ ...base, samples });
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(seriesMarkup(svg, 'p95')).not.toContain('<path');
    expect(drawsSomething(seriesMarkup(svg, 'timeout'))).toBe(true);
  });

  it('keeps all-zero series on their baseline', () => {
    const samples = base.samples.map((s) => ({
      ...s,
      queued: 0,
      backlog: 0,
      delivered: 0,
      produced: 0,
    }));
    const svg = renderTimeline({ ...base, samples });
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(drawsSomething(seriesMarkup(svg, 'backlog'))).toBe(true);
  });

  it('survives a record with nothing in it', () => {
    const svg = renderTimeline({
      ...base,
      durationMs: Number.NaN,
      scenarioOffsetMs: Number.NaN,
      scenario: { ...base.scenario, windows: [] },
      samples: [],
      calls: [],
    });
    expect(svg).not.toMatch(/NaN|Infinity/);
    for (const name of SERIES) expect(svg).toContain(`data-series="${name}"`);
  });
});

describe('the report in headless Chromium', () => {
  // CI installs Chromium, so there a missing one is a failure; elsewhere the test is skipped.
  const required = Boolean(process.env.CI);
  const skip = !hasChromium() && !required;
  if (skip) console.info(`skipping the browser check of the report: ${MISSING_CHROMIUM_HINT}`);

  it.skipIf(skip)(
    'loads without errors or network use, draws every series and the highlighted diagrams',
    async () => {
      if (!hasChromium()) {
        throw new Error(
          `CI runs the browser check of the report, but found ${MISSING_CHROMIUM_HINT}`,
        );
      }
      const htmlFile = path.join(ARTIFACTS, 'demo-report.html');
      const screenshotFile = path.join(ARTIFACTS, 'demo-report.png');
      await mkdir(ARTIFACTS, { recursive: true });
      await writeFile(htmlFile, await renderReport(syntheticRun()));

      const seen = await checkReportInBrowser(htmlFile, screenshotFile);

      expect(seen.consoleErrors).toEqual([]);
      expect(seen.pageErrors).toEqual([]);
      expect(seen.failedRequests).toEqual([]);
      for (const name of SERIES) expect(seen.seriesDrawn[name], name).toBeGreaterThan(0);
      expect(seen.diagramCount).toBe(4);
      expect(seen.highlightedCount).toBeGreaterThan(0);
      expect(existsSync(screenshotFile)).toBe(true);
      const png = readFileSync(screenshotFile);
      expect(png.subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
      expect(statSync(screenshotFile).size).toBeGreaterThan(50_000);
    },
    60_000,
  );
});
