import {
  containsState,
  type Diagram,
  type DiagramState,
  type DiagramTransition,
  leavesFromAnyState,
  statesWithAnyState,
  transitionEffect,
  transitionTrigger,
} from './model.js';

/** Graphviz sizes text with built-in metrics for a few fonts only; Helvetica is one, and browsers have it or a look-alike. */
const FONT = 'Helvetica';
const INK = '#34495e';
/** Visited states: a green fill for leaves, a green border for both leaves and clusters. */
const VISITED_FILL = '#c8f7c5';
const VISITED_CLUSTER_FILL = '#f2fbf1';
const VISITED_BORDER = '#1e8449';
// Appended to a visited leaf's attributes; unvisited leaves keep the defaults of `node [...]`.
const VISITED_LEAF = `, fillcolor="${VISITED_FILL}", color="${VISITED_BORDER}", penwidth=2, class="visited"`;
const DEFAULT_CLUSTER = `fillcolor="#fbfcfe", color="${INK}"`;
const VISITED_CLUSTER = `fillcolor="${VISITED_CLUSTER_FILL}", color="${VISITED_BORDER}", penwidth=2.5, class="visited"`;

/** Optional emphasis for {@link toDot}; without it the output is the plain diagram. */
export interface DotOptions {
  /**
   * State ids (`DiagramState.id`) to draw emphasised, e.g. the states a run
   * visited. Each gets the SVG class `visited` too, so a page can find them.
   * Ancestors are not added: pass them too if their clusters should stand out.
   */
  highlight?: ReadonlySet<string>;
}

/**
 * Writes a diagram as a Graphviz DOT graph: compound states become clusters,
 * parallel regions dashed clusters, and transitions carry the same labels as
 * the Mermaid output.
 *
 * Graphviz cannot attach an edge to a cluster, so each cluster gets an anchor
 * node (its initial-state dot, or an invisible point) and edges to or from
 * the state use it with `lhead`/`ltail`, which clip them at the cluster's border.
 */
export function toDot(diagram: Diagram, options: DotOptions = {}): string {
  return new DotWriter(diagram, options.highlight ?? new Set()).write();
}

class DotWriter {
  private readonly lines: string[] = [];
  private readonly anyStates: Set<DiagramState>;

  constructor(
    private readonly diagram: Diagram,
    private readonly highlight: ReadonlySet<string>,
  ) {
    this.anyStates = statesWithAnyState(diagram);
  }

  write(): string {
    const { root, machineId } = this.diagram;
    const title = root.kind === 'parallel' ? `${machineId} (parallel)` : machineId;
    this.lines.push(`digraph ${quote(machineId)} {`);
    this.lines.push(
      `  graph [compound=true, rankdir=TB, nodesep=0.35, ranksep=0.45, fontname=${quote(FONT)}, fontsize=16, fontcolor=${quote(INK)}, label=${quote(title)}, labelloc=t, pad=0.4];`,
    );
    this.lines.push(
      `  node [shape=box, style="rounded,filled", fillcolor="#eef3fa", color=${quote(INK)}, fontname=${quote(FONT)}, fontsize=12, fontcolor="#1b2631", margin="0.16,0.06"];`,
    );
    this.lines.push(
      `  edge [color="#5d6d7e", fontname=${quote(FONT)}, fontsize=10, fontcolor="#1b2631", arrowsize=0.7];`,
    );
    this.writeContents(root, 1);
    for (const transition of this.diagram.transitions) this.writeTransition(transition);
    this.lines.push('}');
    return `${this.lines.join('\n')}\n`;
  }

  /** The children of a state (or of the root graph), with its initial dot and stand-in. */
  private writeContents(state: DiagramState, depth: number): void {
    const pad = '  '.repeat(depth);
    if (state.initial) {
      this.lines.push(
        `${pad}${initialId(state)} [shape=point, width=0.14, color=${quote(INK)}, fillcolor=${quote(INK)}];`,
      );
    } else {
      // Parallel states have no initial dot, but arrows to them need a node to end on.
      this.lines.push(`${pad}${anchorId(state)} [shape=point, style=invis];`);
    }
    for (const child of state.children) this.writeState(child, depth);
    if (state.kind !== 'parallel' && this.anyStates.has(state)) this.writeAnyState(state, depth);
    if (state.initial) {
      const lhead = state.initial.children.length > 0 ? ` [lhead=${clusterId(state.initial)}]` : '';
      this.lines.push(`${pad}${initialId(state)} -> ${endpointId(state.initial)}${lhead};`);
    }
  }

  private writeState(state: DiagramState, depth: number): void {
    const pad = '  '.repeat(depth);
    if (state.children.length === 0) {
      const final = state.kind === 'final' ? ', peripheries=2' : '';
      const emphasis = this.highlight.has(state.id) ? VISITED_LEAF : '';
      this.lines.push(
        `${pad}${nodeId(state)} [label=${nodeLabel(state.label, state.notes)}${final}${emphasis}];`,
      );
      if (state.kind === 'final') {
        // The end dot mirrors Mermaid's `final --> [*]`.
        this.lines.push(
          `${pad}${finalId(state)} [shape=point, peripheries=2, width=0.12, color=${quote(INK)}, fillcolor=${quote(INK)}];`,
        );
        this.lines.push(`${pad}${nodeId(state)} -> ${finalId(state)};`);
      }
      return;
    }
    const isRegion = state.parent?.kind === 'parallel';
    const name = state.kind === 'parallel' ? `${state.label} (parallel)` : state.label;
    const style = isRegion ? 'rounded,dashed,filled' : 'rounded,filled';
    const colors = this.highlight.has(state.id) ? VISITED_CLUSTER : DEFAULT_CLUSTER;
    this.lines.push(`${pad}subgraph ${clusterId(state)} {`);
    this.lines.push(
      `${pad}  graph [label=${nodeLabel(name, state.notes)}, style=${quote(style)}, ${colors}, fontsize=13, labeljust=l];`,
    );
    this.writeContents(state, depth + 1);
    this.lines.push(`${pad}}`);
    // Inside a parallel state the stand-in would look like one more region: put it beside.
    if (state.kind === 'parallel' && this.anyStates.has(state)) this.writeAnyState(state, depth);
  }

  private writeAnyState(state: DiagramState, depth: number): void {
    const name = state.kind === 'parallel' ? `any state in ${state.label}` : 'any state';
    this.lines.push(
      `${'  '.repeat(depth)}${anyId(state)} [label=${quote(name)}, style="rounded,dashed", fontcolor="#566573"];`,
    );
  }

  private writeTransition(transition: DiagramTransition): void {
    const label = [transitionTrigger(transition), transitionEffect(transition)]
      .filter(Boolean)
      .map(escapeDot)
      .join('\\n');
    const targets = transition.targets.length > 0 ? transition.targets : [undefined];
    for (const target of targets) {
      const tail = edgeTail(transition, target);
      // No target: the transition only runs actions, drawn as a loop on its source.
      const head = target === undefined ? { node: tail.node } : edgeHead(target, tail.inside);
      const attributes = [`label="${label}"`];
      if (tail.cluster) attributes.push(`ltail=${tail.cluster}`);
      if (head.cluster) attributes.push(`lhead=${head.cluster}`);
      this.lines.push(`  ${tail.node} -> ${head.node} [${attributes.join(', ')}];`);
    }
  }
}

/** Where an edge starts: the node, the cluster to clip it at, and the state the node sits in. */
interface EdgeTail {
  node: string;
  cluster?: string;
  inside: DiagramState | undefined;
}

function edgeTail(transition: DiagramTransition, target: DiagramState | undefined): EdgeTail {
  const { source } = transition;
  if (leavesFromAnyState(transition, target)) {
    // The stand-in of a compound state sits inside it; that of a parallel state beside it.
    return { node: anyId(source), inside: source.kind === 'parallel' ? source.parent : source };
  }
  if (source.children.length === 0) return { node: nodeId(source), inside: source };
  return { node: endpointId(source), cluster: clusterId(source), inside: source };
}

function edgeHead(
  target: DiagramState,
  tailInside: DiagramState | undefined,
): { node: string; cluster?: string } {
  const node = endpointId(target);
  // The root is the graph itself, not a cluster.
  if (target.children.length === 0 || !target.parent) return { node };
  // `lhead` on a cluster holding the edge's tail is invalid: end at the anchor inside instead.
  const holdsTail = tailInside !== undefined && containsState(target, tailInside);
  return holdsTail ? { node } : { node, cluster: clusterId(target) };
}

/** The node an edge attaches to: the state itself, or its cluster's anchor. */
function endpointId(state: DiagramState): string {
  if (state.children.length === 0) return nodeId(state);
  return state.initial ? initialId(state) : anchorId(state);
}

// Helper nodes are named after their state plus a suffix in parentheses, which state keys avoid.
function nodeId(state: DiagramState): string {
  return quote(state.id);
}
function initialId(state: DiagramState): string {
  return quote(`${state.id} (initial)`);
}
function finalId(state: DiagramState): string {
  return quote(`${state.id} (end)`);
}
function anchorId(state: DiagramState): string {
  return quote(`${state.id} (anchor)`);
}
function anyId(state: DiagramState): string {
  return quote(`${state.id} (any state)`);
}
function clusterId(state: DiagramState): string {
  return quote(`cluster_${state.id}`);
}

/** A state's name, with its notes under a rule in a smaller font, as an HTML-like label. */
function nodeLabel(name: string, notes: readonly string[]): string {
  if (notes.length === 0) return quote(name);
  const rows = notes
    .map((note) => `<TR><TD><FONT POINT-SIZE="10">${escapeHtml(note)}</FONT></TD></TR>`)
    .join('');
  return `<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2"><TR><TD><B>${escapeHtml(name)}</B></TD></TR><HR/>${rows}</TABLE>>`;
}

function quote(text: string): string {
  return `"${escapeDot(text)}"`;
}

function escapeDot(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\s+/g, ' ');
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
