/**
 * The live page's stylesheet, served as `/live.css` from the page's own
 * origin (the Content-Security-Policy allows no inline style). The
 * diagrams' shapes carry Graphviz's colours as attributes; a CSS rule wins
 * over an attribute, so `.current` repaints the active states.
 */
export const PAGE_STYLE = `
:root { color-scheme: light; --ink: #1b2631; --muted: #566573; --line: #d5dbe3; --hot: #b7791f; --hot-fill: #ffe08a; --hot-cluster: #fff6d6; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 20px 32px; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); background: #f7f9fc; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 18px; margin-bottom: 12px; }
h1 { font-size: 19px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 6px; }
.where { margin: 0; color: var(--muted); }
#connection { margin: 0; padding: 1px 8px; border-radius: 10px; background: #e5e8ec; color: var(--muted); font-size: 12px; }
#connection[data-status="live"] { background: #d4f4dd; color: #1e6b38; }
#connection[data-status="reconnecting"], #connection[data-status="closed"] { background: #fde2e1; color: #9b2c2c; }
.charts { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; margin-bottom: 14px; }
.chart { margin: 0; padding: 8px 10px; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.chart figcaption { display: flex; justify-content: space-between; font-size: 12px; color: var(--muted); }
.chart output { font-weight: 600; color: var(--ink); font-variant-numeric: tabular-nums; }
.chart svg { display: block; width: 100%; height: 64px; margin-top: 4px; }
.chart .frame { fill: none; stroke: var(--line); stroke-width: 1; }
.chart .line { fill: none; stroke: #2e86c1; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.chart[data-metric="backlog"] .line { stroke: #8e44ad; }
.chart[data-metric="timeoutMs"] .line { stroke: #d35400; }
.chart[data-metric="p95Ms"] .line { stroke: #16a085; }
.chart .peak { font-size: 10px; fill: var(--muted); }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(260px, 1fr); gap: 14px; align-items: start; }
.machines { display: flex; flex-wrap: wrap; gap: 10px; }
.diagram { margin: 0; padding: 8px; background: #fff; border: 1px solid var(--line); border-radius: 6px; flex: 1 1 auto; max-width: 100%; }
.diagram figcaption { font-size: 13px; margin-bottom: 4px; }
.diagram figcaption code { margin-left: 6px; padding: 0 6px; border-radius: 4px; background: var(--hot-fill); }
.diagram svg { display: block; margin: 0 auto; max-width: 100%; height: auto; }
.diagram g.node.current > path, .diagram g.node.current > polygon, .diagram g.node.current > ellipse { fill: var(--hot-fill); stroke: var(--hot); stroke-width: 3px; }
.diagram g.cluster.current > path, .diagram g.cluster.current > polygon { fill: var(--hot-cluster); stroke: var(--hot); stroke-width: 2.5px; }
.changes { position: sticky; top: 8px; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
#changes { list-style: none; margin: 0; padding: 0; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; max-height: 760px; overflow: auto; }
#changes li { padding: 1px 0 1px 4ch; text-indent: -4ch; border-bottom: 1px solid #eef1f5; overflow-wrap: break-word; }
#changes .seq, #changes time { color: var(--muted); margin-right: 6px; }
#changes b { margin-right: 6px; }
#changes li.gap { color: #9b2c2c; white-space: normal; }
.filters { display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 0 0 6px; font-size: 12px; color: var(--muted); }
.filters input { margin: 0 3px 0 0; vertical-align: -2px; }
.note { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
@media (max-width: 900px) { .charts { grid-template-columns: repeat(2, minmax(0, 1fr)); } main { grid-template-columns: 1fr; } }
`;
