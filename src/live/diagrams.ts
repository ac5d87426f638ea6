import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One machine's diagram, ready to put in the page. */
export interface LiveDiagram {
  /** The machine's id, which starts every state id in the diagram. */
  machine: string;
  /** The file it came from, e.g. `latency.svg`. */
  file: string;
  /** The `<svg>` element, without prolog, its ids prefixed so that several fit in one page. */
  svg: string;
}

/**
 * CSS px per Graphviz pt. A pt is 4/3 px; drawn at a little over half that,
 * the breaker and the tracker share a row and their text stays readable.
 */
const PX_PER_PT = 0.75;

/**
 * The folder of generated diagrams. This file runs from `src/live/` (from a
 * clone, under tsx) or from `dist/src/live/` (the package), and the package
 * ships `visualizations/*.svg` at its root, so it is two or three levels up.
 */
export function findDiagramsDir(): string {
  for (const up of ['../../visualizations/', '../../../visualizations/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}breaker.svg`)) return dir;
  }
  throw new Error(
    'live view: the machine diagrams (visualizations/*.svg) are missing from the package',
  );
}

/** The machine id Graphviz wrote as the graph's title. */
function machineOf(svg: string): string | undefined {
  return /<g id="graph0" class="graph"[^>]*>\s*<title>([^<]+)<\/title>/.exec(svg)?.[1];
}

/**
 * Graphviz's SVG as an element of an HTML page: from `<svg` on (no XML
 * prolog, doctype or comments), sized in px, and its ids (`graph0`,
 * `node1`…, the same in every file) prefixed with the file's stem.
 */
export function inlineSvg(svg: string, stem: string): string {
  const start = svg.indexOf('<svg');
  return (start < 0 ? svg : svg.slice(start))
    .replace(/ (width|height)="([\d.]+)pt"/g, (_, name: string, pt: string) => {
      return ` ${name}="${Math.round(Number(pt) * PX_PER_PT)}"`;
    })
    .replace(/ id="/g, ` id="${stem}-`)
    .trim();
}

/** Reads every generated diagram, by machine id. Read once, when a live view starts. */
export function loadDiagrams(dir = findDiagramsDir()): Map<string, LiveDiagram> {
  const diagrams = new Map<string, LiveDiagram>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.svg')) continue;
    const raw = readFileSync(`${dir}${file}`, 'utf8');
    const machine = machineOf(raw);
    if (machine === undefined) continue;
    const svg = inlineSvg(raw, file.slice(0, -4));
    diagrams.set(machine, { machine, file, svg });
  }
  return diagrams;
}

/** The order diagrams appear in; machines not listed follow (the worker's root last). */
const DIAGRAM_ORDER = ['breaker', 'tracker', 'worker', 'backlog'];

/** The diagrams of `machines`, in {@link DIAGRAM_ORDER}; machines without one are left out. */
export function diagramsFor(
  diagrams: ReadonlyMap<string, LiveDiagram>,
  machines: Iterable<string>,
): LiveDiagram[] {
  const rank = (machine: string) => {
    const at = DIAGRAM_ORDER.indexOf(machine);
    return at < 0 ? DIAGRAM_ORDER.length : at;
  };
  return [...new Set(machines)]
    .filter((machine) => diagrams.has(machine))
    .sort((a, b) => rank(a) - rank(b))
    .map((machine) => diagrams.get(machine) as LiveDiagram);
}
