import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { breakerMachine } from '../machines/breaker.machine.js';
import { toDot } from '../visualizations/dot.js';
import { buildDiagram } from '../visualizations/model.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('visualizations', () => {
  it('the committed diagrams match the machine definitions', async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'visualizations/generate.ts', '--check'],
        { cwd: root },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(result.output, 'run `npm run visualize` and commit the result').not.toMatch(
      /differs|missing/,
    );
    expect(result.code).toBe(0);
  });
});

describe('toDot highlight', () => {
  const diagram = buildDiagram(breakerMachine);
  /** The DOT line that declares a leaf state, or a cluster's `graph [...]` line. */
  const line = (dot: string, pattern: RegExp) =>
    dot.split('\n').find((text) => pattern.test(text)) ?? '';

  it('draws nothing differently with no or an empty highlight', () => {
    expect(toDot(diagram, { highlight: new Set() })).toBe(toDot(diagram));
    expect(toDot(diagram, {})).toBe(toDot(diagram));
    expect(toDot(diagram)).not.toContain('visited');
  });

  it('emphasises highlighted leaves and clusters, and only those', () => {
    const dot = toDot(diagram, {
      highlight: new Set(['breaker.half_open', 'breaker.half_open.probing']),
    });
    const probing = line(dot, /^\s*"breaker\.half_open\.probing" \[label=/);
    expect(probing).toContain('fillcolor="#c8f7c5"');
    expect(probing).toContain('penwidth=2');
    expect(probing).toContain('class="visited"');
    const cluster = line(dot, /label="half_open", style=/);
    expect(cluster).toContain('color="#1e8449"');
    expect(cluster).toContain('class="visited"');
    expect(line(dot, /^\s*"breaker\.closed" \[label=/)).not.toContain('visited');
    expect(dot.match(/class="visited"/g)).toHaveLength(2);
  });
});
