import type { LiveDiagram } from './diagrams.js';

/** The Content-Security-Policy of every response: nothing from another origin, nothing inline. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The charts, in order: the metric each draws (a key of `MetricSample`) and its caption. */
const CHARTS = [
  ['queued', 'queued in memory'],
  ['backlog', 'durable backlog'],
  ['timeoutMs', 'timeout, ms'],
  ['p95Ms', 'p95, ms'],
] as const;

/** What the page says about itself. */
export interface PageInfo {
  /** The worker's name. */
  name: string;
  /** `host:port` as bound. */
  address: string;
  /** Whether that address is reachable from this machine only. */
  loopback: boolean;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function chart([metric, caption]: (typeof CHARTS)[number]): string {
  return `<figure class="chart" data-metric="${metric}"><figcaption><span>${caption}</span><output>–</output></figcaption><svg viewBox="0 0 240 64" preserveAspectRatio="none" aria-hidden="true"><rect class="frame" x="0.5" y="0.5" width="239" height="63"/></svg></figure>`;
}

function diagram({ machine, svg }: LiveDiagram): string {
  const id = escapeHtml(machine);
  return `<figure class="diagram" data-machine="${id}"><figcaption><b>${id}</b><code></code></figcaption>${svg}</figure>`;
}

/** A checkbox that shows or hides one machine's rows in the list of changes. */
function filter({ machine }: LiveDiagram): string {
  const id = escapeHtml(machine);
  return `<label><input type="checkbox" data-machine="${id}" checked> ${id}</label>`;
}

/**
 * The page: the charts, one diagram per watched machine (the state
 * highlighting and the numbers arrive over `/events`), and the list of
 * changes. It loads only `/live.css` and `/live.js`, from its own origin.
 */
export function renderPage(info: PageInfo, diagrams: readonly LiveDiagram[]): string {
  const name = escapeHtml(info.name);
  const reach = info.loopback
    ? 'loopback only: reachable from this machine alone'
    : 'reachable from other machines';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name} · live view</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/live.css">
<script src="/live.js" defer></script>
</head>
<body>
<header>
<h1>${name} <span class="where">· xstate-sync-worker live view</span></h1>
<p class="where">${escapeHtml(info.address)} (${reach}) · read-only</p>
<p id="connection" data-status="connecting">connecting…</p>
</header>
<section class="charts">${CHARTS.map(chart).join('')}</section>
<main>
<section class="machines">${diagrams.map(diagram).join('\n')}</section>
<section class="changes"><h2>Last state changes</h2>
<p class="filters">${diagrams.map(filter).join(' ')}</p>
<ol id="changes" reversed></ol><p class="note">Newest first. Each change is numbered; a gap would be marked.</p></section>
</main>
</body>
</html>
`;
}

/** A small icon, so that the browser asks for nothing the server lacks. */
export const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="#ffe08a" stroke="#b7791f" stroke-width="2"/></svg>';
