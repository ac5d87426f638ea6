import {
  containsState,
  type Diagram,
  type DiagramState,
  type DiagramTransition,
  leavesFromAnyState,
  statesWithAnyState,
  transitionLabel,
} from './model.js';

/**
 * Writes a diagram as Mermaid `stateDiagram-v2` source, with `comment` (one
 * line) as a Mermaid comment under the header.
 *
 * The layout works around known Mermaid behaviour rather than trusting it:
 * states are declared inside their composite and every transition is written
 * at the top level (a state referenced from inside another composite can be
 * moved into it), and arrows never end on a composite that contains their
 * other end or that sits inside a parallel region (both break the renderer).
 */
export function toMermaid(diagram: Diagram, comment: string): string {
  return new MermaidWriter(diagram).write(comment);
}

/** Where an arrow starts: a state, or the "any state" stand-in of a state. */
type Endpoint = { state: DiagramState; any: boolean };

class MermaidWriter {
  private readonly lines: string[] = [];
  private readonly ids = new Map<DiagramState, string>();
  private readonly anyIds = new Map<DiagramState, string>();

  constructor(private readonly diagram: Diagram) {
    assignIds(diagram, this.ids, this.anyIds);
  }

  write(comment: string): string {
    const { root } = this.diagram;
    this.lines.push('stateDiagram-v2');
    this.lines.push(`  %% ${comment}`);
    if (root.kind === 'parallel') {
      // `--` region dividers are only allowed inside a composite, so a parallel
      // root gets a box of its own.
      this.writeState(root, 1);
      this.lines.push(`  [*] --> ${this.id(root)}`);
    } else {
      this.writeBody(root, 1);
    }
    for (const transition of this.diagram.transitions) this.writeTransition(transition);
    this.writeStyles();
    return `${this.lines.join('\n')}\n`;
  }

  private id(state: DiagramState): string {
    const id = this.ids.get(state);
    if (id === undefined) throw new Error(`no Mermaid id for ${state.id}`);
    return id;
  }

  private anyId(state: DiagramState): string {
    const id = this.anyIds.get(state);
    if (id === undefined) throw new Error(`no Mermaid "any state" id for ${state.id}`);
    return id;
  }

  /** The inside of a compound state (or of the root): children, stand-in, initial and final arrows. */
  private writeBody(state: DiagramState, depth: number): void {
    const pad = '  '.repeat(depth);
    for (const child of state.children) this.writeState(child, depth);
    if (this.anyIds.has(state)) this.writeAnyState(state, depth);
    if (state.initial) this.lines.push(`${pad}[*] --> ${this.id(state.initial)}`);
    for (const child of state.children) {
      if (child.kind === 'final') this.lines.push(`${pad}${this.id(child)} --> [*]`);
    }
  }

  private writeState(state: DiagramState, depth: number): void {
    const pad = '  '.repeat(depth);
    const id = this.id(state);
    if (state.children.length === 0) {
      this.lines.push(`${pad}state "${escapeName(state.label)}" as ${id}`);
      // Descriptions of a simple state render as lines under its name.
      for (const note of state.notes) this.lines.push(`${pad}${id} : ${escapeText(note)}`);
      return;
    }
    // Mermaid ignores descriptions of composite states: fold them into the name.
    const name = [compositeName(state), ...state.notes].join(' · ');
    this.lines.push(`${pad}state "${escapeName(name)}" as ${id} {`);
    if (state.kind === 'parallel') {
      this.regionOrder(state).forEach((region, index) => {
        if (index > 0) this.lines.push(`${pad}  --`);
        this.writeState(region, depth + 1);
      });
    } else {
      this.writeBody(state, depth + 1);
    }
    this.lines.push(`${pad}}`);
    // Inside a parallel state the stand-in would join its last region: put it beside.
    if (state.kind === 'parallel' && this.anyIds.has(state)) this.writeAnyState(state, depth);
  }

  /**
   * Regions in definition order, except that regions with arrows crossing the
   * parallel state's border come first: Mermaid fails to render such arrows
   * from any region but the first (mermaid-js/mermaid#5096).
   */
  private regionOrder(parallel: DiagramState): DiagramState[] {
    const crossing = new Set<DiagramState>();
    for (const transition of this.diagram.transitions) {
      for (const target of transition.targets) {
        for (const region of parallel.children) {
          const inSource = containsState(region, transition.source);
          const inTarget = containsState(region, target);
          const outside = inSource ? target : transition.source;
          if (inSource !== inTarget && !containsState(parallel, outside)) crossing.add(region);
        }
      }
    }
    return [
      ...parallel.children.filter((region) => crossing.has(region)),
      ...parallel.children.filter((region) => !crossing.has(region)),
    ];
  }

  private writeAnyState(state: DiagramState, depth: number): void {
    const name = state.kind === 'parallel' ? `any state in ${state.label}` : 'any state';
    this.lines.push(`${'  '.repeat(depth)}state "${escapeName(name)}" as ${this.anyId(state)}`);
  }

  private writeTransition(transition: DiagramTransition): void {
    const label = escapeText(transitionLabel(transition));
    const targets = transition.targets.length > 0 ? transition.targets : [undefined];
    for (const target of targets) {
      const from: Endpoint = {
        state: transition.source,
        any: leavesFromAnyState(transition, target),
      };
      const fromId = from.any ? this.anyId(from.state) : this.id(drawable(from.state));
      // No target: the transition only runs actions, drawn as a loop on its source.
      const toId = target === undefined ? fromId : this.id(arrowHead(target, from));
      this.lines.push(`  ${fromId} --> ${toId} : ${label}`);
    }
  }

  private writeStyles(): void {
    if (this.anyIds.size === 0) return;
    this.lines.push('  classDef anyState font-style:italic,stroke-dasharray:4 4');
    this.lines.push(`  class ${[...this.anyIds.values()].join(',')} anyState`);
  }
}

/** A composite's name; parallel states say so, since dividers alone are easy to miss. */
function compositeName(state: DiagramState): string {
  return state.kind === 'parallel' ? `${state.label} (parallel)` : state.label;
}

/** True when a composite is inside a parallel state: arrows on such a box crash Mermaid. */
function insideParallel(state: DiagramState): boolean {
  for (let s = state.parent; s; s = s.parent) {
    if (s.kind === 'parallel') return true;
  }
  return false;
}

/** The state entered first when entering `state`: the box an arrow can end on instead. */
function initialLeaf(state: DiagramState): DiagramState {
  let current = state;
  while (current.children.length > 0) {
    const next = current.initial ?? current.children[0];
    if (!next) break;
    current = next;
  }
  return current;
}

/** The state actually drawn for a source or target, avoiding composites inside parallel regions. */
function drawable(state: DiagramState): DiagramState {
  return state.children.length > 0 && insideParallel(state) ? initialLeaf(state) : state;
}

/**
 * Where an arrow to `target` ends. Entering a composite that contains the
 * arrow's start cannot be drawn; entering it means entering its initial
 * state, so the arrow ends there.
 */
function arrowHead(target: DiagramState, from: Endpoint): DiagramState {
  if (target.children.length === 0) return target;
  // The stand-in of a compound state sits inside it; that of a parallel state beside it.
  const start = from.any && from.state.kind === 'parallel' ? from.state.parent : from.state;
  const containsStart = start !== undefined && containsState(target, start);
  return containsStart ? initialLeaf(target) : drawable(target);
}

/**
 * Gives every state a Mermaid id. Ids are built from the state's path so they
 * stay readable and stable, limited to word characters (Mermaid ids cannot
 * hold dots, dashes or spaces), kept clear of Mermaid keywords, and made
 * unique in definition order.
 */
function assignIds(
  diagram: Diagram,
  ids: Map<DiagramState, string>,
  anyIds: Map<DiagramState, string>,
): void {
  const used = new Set<string>();
  const claim = (wanted: string): string => {
    let id = safeId(wanted);
    for (let n = 2; used.has(id); n++) id = `${safeId(wanted)}_${n}`;
    used.add(id);
    return id;
  };
  for (const state of diagram.states) {
    ids.set(state, claim(state.path.length > 0 ? state.path.join('__') : diagram.machineId));
  }
  for (const state of statesWithAnyState(diagram)) {
    anyIds.set(state, claim(`${ids.get(state) ?? state.key}__any`));
  }
}

function safeId(wanted: string): string {
  const id = wanted.replace(/\W/g, '_') || 'state';
  // Mermaid's lexer takes an id starting with `default`, or one of these words, for a keyword.
  return /^default/i.test(id) || /^(state|note|class|classdef|scale|hide)$/i.test(id)
    ? `s_${id}`
    : id;
}

/**
 * Text after ` : ` ends at a colon or semicolon and `#` starts a comment, so
 * these are written as Mermaid entity codes, which it renders as the
 * characters themselves.
 */
function escapeText(text: string): string {
  return text
    .replace(/[#:;]/g, (c) => `#${c.charCodeAt(0)};`)
    .replace(/\s+/g, ' ')
    .trim();
}

/** Quoted state names end at a double quote. */
function escapeName(text: string): string {
  return text
    .replace(/[#"]/g, (c) => `#${c.charCodeAt(0)};`)
    .replace(/\s+/g, ' ')
    .trim();
}
