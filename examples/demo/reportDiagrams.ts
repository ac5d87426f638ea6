/**
 * The report's machine diagrams: each machine drawn as in `visualizations/`,
 * with the states the run visited highlighted, as SVG ready to inline.
 */
import { toDot } from '../../visualizations/dot.js';
import { createSvgRenderer, loadMachine } from '../../visualizations/generate.js';
import { buildDiagram, type Diagram, type DiagramState } from '../../visualizations/model.js';

/** The machines the report draws, by file stem (`machines/<stem>.machine.ts`). */
export const REPORT_MACHINES = ['worker', 'breaker', 'latency', 'backlog'] as const;

/**
 * Each stem's file under `machines/`. Projections (machines that only record a
 * regime) live in `machines/projections/`, so the stem alone does not locate the file.
 */
const MACHINE_FILES: Readonly<Record<(typeof REPORT_MACHINES)[number], string>> = {
  worker: 'worker.machine.ts',
  breaker: 'breaker.machine.ts',
  latency: 'projections/latency.machine.ts',
  backlog: 'projections/backlog.machine.ts',
};

/** One machine's diagram, ready for the page. */
export interface MachineDiagram {
  /** The machine file's stem, e.g. `latency`. */
  stem: string;
  /** The machine's id, e.g. `tracker`. */
  machineId: string;
  /** The diagram as an inline `<svg>` element (no XML prolog), ids prefixed by the stem. */
  svg: string;
  /** The run's visited state ids, as recorded, that the machine has. */
  visited: string[];
  /** Leaf states the run never entered. */
  unvisited: string[];
  /** Recorded ids the machine does not have (the record and the machine disagree). */
  unknown: string[];
}

// Starting Graphviz's WebAssembly takes a while: do it once per process.
let renderer: Promise<(dot: string) => string> | undefined;

/** Draws each of {@link REPORT_MACHINES} with the states in `visited[stem]` highlighted. */
export async function renderMachineDiagrams(
  visited: Readonly<Record<string, readonly string[]>>,
): Promise<MachineDiagram[]> {
  renderer ??= createSvgRenderer();
  const render = await renderer;
  const diagrams: MachineDiagram[] = [];
  for (const stem of REPORT_MACHINES) {
    const diagram = buildDiagram(await loadMachine(MACHINE_FILES[stem]));
    const ids = visited[stem] ?? [];
    const highlight = withAncestors(diagram, ids);
    const svg = inlineSvg(render(toDot(diagram, { highlight })), stem);
    diagrams.push({ stem, machineId: diagram.machineId, svg, ...classify(diagram, ids) });
  }
  return diagrams;
}

/**
 * The visited ids plus every ancestor of each, so `worker.active.drain.blocked`
 * also marks the `worker.active.drain` cluster. Ids the machine lacks are left out.
 */
export function withAncestors(diagram: Diagram, visited: readonly string[]): Set<string> {
  const byId = new Map(diagram.states.map((state) => [state.id, state]));
  const highlight = new Set<string>();
  for (const id of visited) {
    for (let state: DiagramState | undefined = byId.get(id); state; state = state.parent) {
      highlight.add(state.id);
    }
  }
  return highlight;
}

function classify(
  diagram: Diagram,
  visited: readonly string[],
): Pick<MachineDiagram, 'visited' | 'unvisited' | 'unknown'> {
  const known = new Set(diagram.states.map((state) => state.id));
  const highlight = withAncestors(diagram, visited);
  const unvisited = diagram.states
    .filter(
      (state) =>
        state.children.length === 0 && !highlight.has(state.id) && !isTransient(diagram, state),
    )
    .map((state) => state.id);
  return {
    visited: visited.filter((id) => known.has(id)),
    unvisited,
    unknown: visited.filter((id) => !known.has(id)),
  };
}

/**
 * Whether a state is left in the step it is entered in: every transition out
 * of it is eventless, one of them unguarded (the breaker's `starting`). No
 * snapshot shows such a state, so a run cannot be said to have missed it.
 */
function isTransient(diagram: Diagram, state: Diagram['states'][number]): boolean {
  const leaving = diagram.transitions.filter((transition) => transition.source === state);
  return (
    leaving.length > 0 &&
    leaving.every((transition) => transition.trigger === 'always') &&
    leaving.some((transition) => transition.guard === undefined || transition.guard === 'else')
  );
}

/**
 * CSS px per Graphviz pt. A pt is 4/3 px; drawing a bit smaller keeps the
 * text readable while the breaker and latency diagrams share a row.
 */
const PX_PER_PT = (4 / 3) * 0.85;

/**
 * Graphviz's SVG as an element to put in HTML: without the XML prolog,
 * doctype and comments before `<svg`, sized in px, and with its ids
 * (`graph0`, `node1`…) prefixed, since every diagram uses the same ones and
 * ids must be unique in a page.
 */
function inlineSvg(svg: string, stem: string): string {
  const start = svg.indexOf('<svg');
  const element = start < 0 ? svg : svg.slice(start);
  return element
    .replace(/ (width|height)="([\d.]+)pt"/g, (_, name: string, pt: string) => {
      return ` ${name}="${Math.round(Number(pt) * PX_PER_PT)}"`;
    })
    .replace(/ id="/g, ` id="${stem}-`)
    .trim();
}
