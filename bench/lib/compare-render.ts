/** Renders the output of `bench/compare.ts`: an aligned text table for the terminal, or markdown. */
import { type Comparison, higherIsBetter, type Side, THRESHOLD, type Verdict } from './compare.js';
import { num } from './report.js';

/** Where the two sides came from, for the lines above the table. */
export interface CompareMeta {
  before: { dir: string; commits: string[] };
  after: { dir: string; commits: string[] };
  runs: number;
  quick: boolean;
  filters: string[];
}

const HEADER = [
  'case › table',
  'row',
  'unit',
  'before',
  'before range',
  'after',
  'after range',
  'after/before',
  'verdict',
];

/** Columns 3 to 7 hold numbers, so they are right-aligned. */
const NUMERIC = new Set([3, 4, 5, 6, 7]);

function range(s: Side | undefined): string {
  return s === undefined ? '' : `${num(s.min)}–${num(s.max)}`;
}

/** The cells of one comparison, in {@link HEADER}'s order. */
function cells(c: Comparison): string[] {
  return [
    `${c.caseId} › ${c.groupId}`,
    c.role === 'subject' ? c.row : `${c.row} (${c.role})`,
    `${c.unit} ${higherIsBetter(c.quantity) ? '↑' : '↓'}`,
    c.before === undefined ? '' : num(c.before.median),
    range(c.before),
    c.after === undefined ? '' : num(c.after.median),
    range(c.after),
    c.ratio === undefined ? '—' : `${c.ratio.toFixed(2)}×`,
    c.verdict,
  ];
}

function commits(list: string[]): string {
  const unique = [...new Set(list)];
  return unique.length === 0 ? 'commit unknown' : `commit ${unique.join(', ')}`;
}

/** The lines above the table: the two sides, how they ran, and how to read the verdict. */
function preamble(meta: CompareMeta): string[] {
  const how = [
    `${meta.runs} run${meta.runs === 1 ? '' : 's'} each, interleaved (before, after, before, …)`,
    meta.quick ? '--quick' : '',
    meta.filters.map((f) => `--filter ${f}`).join(' '),
  ].filter((part) => part !== '');
  return [
    `before: ${meta.before.dir} (${commits(meta.before.commits)})`,
    `after:  ${meta.after.dir} (${commits(meta.after.commits)})`,
    `runs:   ${how.join('; ')}`,
    `before/after: the median of the runs' medians; range: the lowest to the highest of those medians. ↑ higher is better, ↓ lower is better.`,
    `verdict: regression when after is more than ${THRESHOLD * 100}% worse than before and each side's median lies outside the other's spread (p25–p75, over all its runs); better likewise the other way.`,
  ];
}

/** "12 rows: 1 regression, 2 better, 9 ok", counting only the verdicts that occur. */
export function summary(rows: readonly Comparison[]): string {
  const order: Verdict[] = ['regression', 'better', 'ok', 'new', 'gone'];
  const counts = order
    .map((v) => [v, rows.filter((r) => r.verdict === v).length] as const)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`);
  return `${rows.length} rows: ${counts.join(', ')}`;
}

function pad(text: string, width: number, right: boolean): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The comparison as an aligned plain-text table, for the terminal. */
export function renderText(rows: readonly Comparison[], meta: CompareMeta): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((line) => (line[i] ?? '').length)));
  const lines = table.map((line) =>
    line
      .map((cell, i) => pad(cell, widths[i] ?? 0, NUMERIC.has(i)))
      .join('  ')
      .trimEnd(),
  );
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [...preamble(meta), '', lines[0], rule, ...lines.slice(1), '', summary(rows)].join('\n');
}

/** A markdown table cell: pipes escaped, the regression verdict in bold. */
function mdCell(text: string): string {
  const escaped = text.replaceAll('|', '\\|');
  return escaped === 'regression' ? '**regression**' : escaped;
}

/** The same comparison as markdown, for pasting into a README. */
export function renderMarkdown(rows: readonly Comparison[], meta: CompareMeta): string {
  const align = HEADER.map((_, i) => (NUMERIC.has(i) ? '--:' : '---'));
  return [
    '## Benchmark comparison',
    '',
    ...preamble(meta).map((line) => `- ${line.replace(/^(\w[\w/]*):\s+/, '**$1:** ')}`),
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${align.join('|')}|`,
    ...rows.map((c) => `| ${cells(c).map(mdCell).join(' | ')} |`),
    '',
    summary(rows),
    '',
  ].join('\n');
}
