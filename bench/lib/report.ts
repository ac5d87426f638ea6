/** Renders results as the markdown that `npm run bench` prints and RESULTS.md holds. */
import type { CaseResult, Group, Quantity, Row, RunResult, Target } from './types.js';

/** A number with about three significant figures, and thousands separators when large. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function times(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** "3.1× faster", "2.0× slower", "9.5× less": how the subject compares with a peer. */
export function ratioWords(quantity: Quantity, timesBetter: number): string {
  const [better, worse] = quantity === 'memory' ? ['less', 'more'] : ['faster', 'slower'];
  if (!Number.isFinite(timesBetter) || timesBetter <= 0) return 'n/a';
  return timesBetter >= 1
    ? `${times(timesBetter)}× ${better}`
    : `${times(1 / timesBetter)}× ${worse}`;
}

function rowLabel(row: Row): string {
  if (row.role === 'subject') return `**${row.name}**`;
  return `${row.name} _(${row.role})_`;
}

function subjectName(group: Group): string {
  return group.rows.find((row) => row.role === 'subject')?.name ?? 'subject';
}

export function renderGroup(group: Group): string {
  const lines: string[] = [`**${group.title}** (${group.unit})`, ''];
  if (group.note !== undefined) lines.push(group.note, '');
  const ratioOf = (row: Row) => {
    const ratio = group.ratios.find((r) => r.peer === row.name);
    if (row.role === 'subject') return '—';
    return ratio === undefined ? '' : ratioWords(group.quantity, ratio.timesBetter);
  };
  const vs = `${subjectName(group)} vs this`;
  if (group.columns === 'latency') {
    lines.push(
      `| | p50 | p99 | max | p25–p75 | n | ${vs} (p50) |`,
      '|---|--:|--:|--:|--:|--:|---|',
    );
    for (const row of group.rows) {
      const s = row.stats;
      lines.push(
        `| ${rowLabel(row)} | ${num(s.median)} | ${num(s.p99)} | ${num(s.max)} | ${num(s.p25)}–${num(s.p75)} | ${s.samples.toLocaleString('en-US')} | ${ratioOf(row)} |`,
      );
    }
  } else {
    lines.push(`| | median | p25–p75 | min–max | n | ${vs} |`, '|---|--:|--:|--:|--:|---|');
    for (const row of group.rows) {
      const s = row.stats;
      lines.push(
        `| ${rowLabel(row)} | ${num(s.median)} | ${num(s.p25)}–${num(s.p75)} | ${num(s.min)}–${num(s.max)} | ${s.samples} | ${ratioOf(row)} |`,
      );
    }
  }
  const rowNotes = group.rows.filter((row) => row.note !== undefined);
  if (rowNotes.length > 0) {
    lines.push('');
    for (const row of rowNotes) lines.push(`- ${row.name}: ${row.note}`);
  }
  return lines.join('\n');
}

export function renderTarget(target: Target): string {
  const shown = (value: number) =>
    `${target.unit === '×' ? times(value) : num(value)}${target.unit}`;
  return `| ${target.description} | ${shown(target.measured)} | ${target.comparator === '<=' ? '≤' : '≥'} ${shown(target.threshold)} | ${target.met ? '✅ met' : '❌ missed'} |`;
}

const TARGET_HEADER = ['| target | measured | needed | result |', '|---|--:|--:|---|'];

export function renderCase(result: CaseResult): string {
  const lines: string[] = [`### ${result.title}`, ''];
  for (const group of result.groups) lines.push(renderGroup(group), '');
  if (result.targets.length > 0) {
    lines.push(...TARGET_HEADER, ...result.targets.map(renderTarget), '');
  }
  for (const [name, values] of Object.entries(result.series)) {
    lines.push(`Series \`${name}\`: ${values.map(num).join(', ')}`, '');
  }
  for (const check of result.checks) {
    lines.push(
      `- ${check.ok ? '✓' : '✗ FAILED:'} ${check.description}${check.detail ? ` (${check.detail})` : ''}`,
    );
  }
  for (const note of result.notes) lines.push(`- Note: ${note}`);
  lines.push('', `_Case time: ${(result.durationMs / 1000).toFixed(1)} s._`);
  return lines.join('\n');
}

export function renderRun(run: RunResult): string {
  const m = run.machine;
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(' / ');
  const packages = Object.entries(m.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const lines: string[] = [
    `## Benchmark results${run.quick ? ' (--quick: short, for checking the harness, not for reading numbers)' : ''}`,
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB.toFixed(1)} GiB RAM, ${m.platform} ${m.arch}`,
    `- Node ${m.node} (V8 ${m.v8})`,
    `- Load average (1/5/15 min) at start ${load(m.loadAverageStart)}, at end ${load(m.loadAverageEnd)}`,
    `- Commit ${m.commit}; ${packages}`,
    `- Run started ${run.startedAt}, took ${(run.durationMs / 1000).toFixed(1)} s; each case in its own child process`,
    '- On a shared machine (see the load average) absolute numbers drift between runs: compare the ratios within one run',
    '',
  ];
  const targets = run.cases.flatMap((c) => c.result?.targets ?? []);
  if (targets.length > 0) {
    const met = targets.filter((t) => t.met).length;
    lines.push(
      `### Targets: ${met} of ${targets.length} met`,
      '',
      ...TARGET_HEADER,
      ...targets.map(renderTarget),
      '',
    );
  }
  for (const outcome of run.cases) {
    if (outcome.result !== undefined) lines.push(renderCase(outcome.result), '');
    if (!outcome.ok) {
      lines.push(
        `**${outcome.file} FAILED** (exit ${outcome.exitCode ?? outcome.signal})${outcome.error ? `:\n\n\`\`\`\n${outcome.error}\n\`\`\`` : ''}`,
        '',
      );
    }
  }
  lines.push(run.ok ? 'Every case ran and every check passed.' : '**The run FAILED** (see above).');
  return lines.join('\n');
}
