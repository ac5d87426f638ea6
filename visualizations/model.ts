import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * A renderer-neutral picture of one machine: its state tree and every
 * transition, already labelled. Both the Mermaid and the DOT writers draw from
 * this, so the two outputs cannot disagree about what the machine does.
 */
export interface Diagram {
  /** The machine's `id` (the root state node's key). */
  machineId: string;
  root: DiagramState;
  /** Every state, root first, in definition order (pre-order walk). */
  states: DiagramState[];
  /** Every transition, in definition order of their source states. */
  transitions: DiagramTransition[];
}

/** How a state is drawn: only these distinctions change the picture. */
export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** One state node of the machine. */
export interface DiagramState {
  /** The XState state id, e.g. `breaker.half_open.probing`: unique in the machine. */
  id: string;
  /** The state's key in its parent, e.g. `probing`. */
  key: string;
  /** The name drawn for the state: its key, marked `(H)`/`(H*)` for history states. */
  label: string;
  /** Keys from the root down, e.g. `['half_open', 'probing']`; empty for the root. */
  path: readonly string[];
  kind: StateKind;
  parent: DiagramState | undefined;
  children: DiagramState[];
  /** The child entered by default (compound states only). */
  initial: DiagramState | undefined;
  /** Extra lines drawn inside the state: description, entry/exit actions, invoked actors. */
  notes: string[];
}

/** One transition candidate, as written in the machine. */
export interface DiagramTransition {
  source: DiagramState;
  /** Empty when the transition has no target (it only runs actions; the state does not change). */
  targets: DiagramState[];
  /** What fires it: an event type, `after <delay>`, `always`, `onDone`... */
  trigger: string;
  /** The guard, `else` for the unguarded fallback after guarded candidates, or undefined. */
  guard: string | undefined;
  actions: string[];
}

/**
 * Builds the diagram model of a machine by walking its state node tree
 * (`machine.root`), never its source text.
 */
export function buildDiagram(machine: AnyStateMachine): Diagram {
  const nodes = new Map<DiagramState, AnyStateNode>();
  const root = buildState(machine.root, undefined, nodes);
  const states = [...nodes.keys()];
  const byId = new Map(states.map((state) => [state.id, state]));
  // Targets are resolved only now, once every state of the tree exists.
  const transitions = [...nodes].flatMap(([state, node]) => stateTransitions(node, state, byId));
  return { machineId: machine.root.key, root, states, transitions };
}

/** Walks one state node and its descendants, recording each in `nodes` in pre-order. */
function buildState(
  node: AnyStateNode,
  parent: DiagramState | undefined,
  nodes: Map<DiagramState, AnyStateNode>,
): DiagramState {
  const state: DiagramState = {
    id: node.id,
    key: node.key,
    label: stateLabel(node),
    path: node.path,
    kind: stateKind(node),
    parent,
    children: [],
    initial: undefined,
    notes: stateNotes(node),
  };
  nodes.set(state, node);
  // Object key order is the order the states were written in: keep it.
  for (const child of Object.values(node.states)) {
    state.children.push(buildState(child, state, nodes));
  }
  if (state.kind === 'compound') {
    const initialId = node.initial?.target[0]?.id;
    state.initial = state.children.find((child) => child.id === initialId);
  }
  return state;
}

/** The state's key; history states also say which history (`H`, or `H*` for deep). */
function stateLabel(node: AnyStateNode): string {
  if (node.type !== 'history') return node.key;
  return `${node.key} (${node.history === 'deep' ? 'H*' : 'H'})`;
}

function stateKind(node: AnyStateNode): StateKind {
  if (node.type === 'parallel' || node.type === 'final' || node.type === 'history') {
    return node.type;
  }
  return node.type === 'compound' ? 'compound' : 'atomic';
}

/** The lines drawn inside a state besides its name. */
function stateNotes(node: AnyStateNode): string[] {
  const notes: string[] = [];
  if (node.description) notes.push(node.description);
  const entry = node.entry.filter((action) => !isDelayPlumbing(action)).map(formatAction);
  if (entry.length > 0) notes.push(`entry / ${entry.join(', ')}`);
  const exit = node.exit.filter((action) => !isDelayPlumbing(action)).map(formatAction);
  if (exit.length > 0) notes.push(`exit / ${exit.join(', ')}`);
  for (const invoke of node.invoke) notes.push(invokeLabel(invoke));
  return notes;
}

/**
 * `after` transitions make XState add a `raise` (entry) and a `cancel` (exit)
 * for the timer event to the state. They are how delays work, not actions
 * anybody wrote, and the delayed transition already shows them.
 */
function isDelayPlumbing(action: unknown): boolean {
  if (typeof action !== 'function') return false;
  const { type, id, sendId } = action as { type?: unknown; id?: unknown; sendId?: unknown };
  const timerId = type === 'xstate.raise' ? id : type === 'xstate.cancel' ? sendId : undefined;
  return typeof timerId === 'string' && timerId.startsWith('xstate.after.');
}

/** `invoke <src> (id: …, systemId: …)`, leaving out an id equal to the source's name. */
function invokeLabel(invoke: AnyStateNode['invoke'][number]): string {
  // XState names inline actor logic `xstate.invoke.<id>`: say so instead.
  const src =
    typeof invoke.src === 'string' && !invoke.src.startsWith('xstate.invoke.')
      ? invoke.src
      : 'inline actor';
  const details: string[] = [];
  if (invoke.id !== invoke.src) details.push(`id: ${invoke.id}`);
  if (invoke.systemId !== undefined) details.push(`systemId: ${invoke.systemId}`);
  return details.length > 0 ? `invoke ${src} (${details.join(', ')})` : `invoke ${src}`;
}

/** The transitions leaving one state: its `on`/`after`/`onDone` map, then `always`. */
function stateTransitions(
  node: AnyStateNode,
  source: DiagramState,
  byId: Map<string, DiagramState>,
): DiagramTransition[] {
  const delayed = new Set<unknown>(node.after);
  // `transitions` holds `on`, `onDone`, invoke outcomes and `after`, keyed by event type.
  const groups: Array<[string, readonly AnyTransitionDefinition[]]> = [...node.transitions];
  if (node.always) groups.push(['', node.always]);
  return groups.flatMap(([eventType, candidates]) =>
    candidates.map((definition, index) => ({
      source,
      targets: (definition.target ?? []).map((target) => {
        const state = byId.get(target.id);
        if (!state) throw new Error(`${node.id}: target ${target.id} is not in the machine`);
        return state;
      }),
      trigger: triggerLabel(node, eventType, definition, delayed.has(definition)),
      guard: guardLabel(candidates, index),
      actions: definition.actions.map(formatAction),
    })),
  );
}

/** Names what fires a transition in the words of the machine's author, not XState's event ids. */
function triggerLabel(
  node: AnyStateNode,
  eventType: string,
  definition: AnyTransitionDefinition,
  isDelayed: boolean,
): string {
  if (eventType === '') return 'always';
  if (isDelayed) {
    const { delay } = definition as { delay?: unknown };
    if (typeof delay === 'number') return `after ${delay}ms`;
    if (typeof delay === 'string') return `after ${delay}`;
    return 'after (computed delay)';
  }
  if (eventType === `xstate.done.state.${node.id}`) return 'onDone';
  for (const [prefix, name] of INVOKE_EVENT_PREFIXES) {
    if (eventType.startsWith(prefix)) return `${name} (${eventType.slice(prefix.length)})`;
  }
  return eventType;
}

const INVOKE_EVENT_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['xstate.done.actor.', 'onDone'],
  ['xstate.error.actor.', 'onError'],
  ['xstate.snapshot.', 'onSnapshot'],
];

/**
 * Candidates for one event are tried in order and the first whose guard
 * passes wins, so an unguarded candidate after guarded ones is their `else`:
 * saying so keeps it from reading as unconditional.
 */
function guardLabel(
  candidates: readonly AnyTransitionDefinition[],
  index: number,
): string | undefined {
  const guard = candidates[index]?.guard;
  if (guard !== undefined) return formatGuard(guard);
  const afterGuarded = candidates.slice(0, index).some((c) => c.guard !== undefined);
  return afterGuarded ? 'else' : undefined;
}

/**
 * A guard as its author wrote it: a name, a name with params, or a
 * combination built with `and`/`or`/`not`/`stateIn`.
 */
export function formatGuard(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as { name: string; guards?: unknown[]; stateValue?: unknown };
    if (fn.stateValue !== undefined) return `in(${formatValue(fn.stateValue)})`;
    if (Array.isArray(fn.guards) && ['and', 'or', 'not'].includes(fn.name)) {
      // Parenthesise nested combinations so `a and (b or c)` keeps its meaning.
      const parts = fn.guards.map((inner) =>
        isGuardCombination(inner) ? `(${formatGuard(inner)})` : formatGuard(inner),
      );
      return fn.name === 'not' ? `not ${parts[0] ?? ''}` : parts.join(` ${fn.name} `);
    }
    return 'inline guard';
  }
  return formatParameterized(guard, 'guard');
}

function isGuardCombination(guard: unknown): boolean {
  return typeof guard === 'function' && Array.isArray((guard as { guards?: unknown }).guards);
}

/** An action by name: referenced actions keep theirs, built-ins say what they are. */
export function formatAction(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'function') {
    const { type, event } = action as { type?: unknown; event?: unknown };
    if (typeof type === 'string' && type.startsWith('xstate.')) {
      const name = type.slice('xstate.'.length);
      const eventType = (event as { type?: unknown } | undefined)?.type;
      return typeof eventType === 'string' ? `${name}(${eventType})` : name;
    }
    return 'inline action';
  }
  return formatParameterized(action, 'action');
}

/** `{ type: 'name', params: { a: 1 } }` → `name(a=1)`. */
function formatParameterized(value: unknown, what: string): string {
  if (typeof value !== 'object' || value === null) return `unknown ${what}`;
  const { type, params } = value as { type?: unknown; params?: unknown };
  const name = typeof type === 'string' ? type : `unknown ${what}`;
  if (params === undefined) return name;
  // Params computed from context or event are only known at run time.
  if (typeof params === 'function') return `${name}(…)`;
  if (typeof params === 'object' && params !== null) {
    const pairs = Object.entries(params).map(([key, v]) => `${key}=${formatValue(v)}`);
    return `${name}(${pairs.join(', ')})`;
  }
  return `${name}(${formatValue(params)})`;
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** `EVENT [guard] / action1, action2`: the one label format both outputs use. */
export function transitionLabel(transition: DiagramTransition): string {
  return [transitionTrigger(transition), transitionEffect(transition)].filter(Boolean).join(' ');
}

/** The `EVENT [guard]` part of a transition's label. */
export function transitionTrigger(transition: DiagramTransition): string {
  const guard = transition.guard === undefined ? '' : ` [${transition.guard}]`;
  return `${transition.trigger}${guard}`;
}

/** The `/ action1, action2` part of a transition's label, empty without actions. */
export function transitionEffect(transition: DiagramTransition): string {
  return transition.actions.length > 0 ? `/ ${transition.actions.join(', ')}` : '';
}

/** True when `ancestor` is `state` or contains it. */
export function containsState(ancestor: DiagramState, state: DiagramState): boolean {
  for (let s: DiagramState | undefined = state; s; s = s.parent) {
    if (s === ancestor) return true;
  }
  return false;
}

/**
 * Transitions of a compound or parallel state (or of the root) that lead into
 * itself, or have no target, are drawn from an "any state" stand-in: an arrow
 * from a box to something inside it breaks Mermaid and Graphviz alike, and
 * "in any state of X, on E" is what such a transition means.
 */
export function leavesFromAnyState(transition: DiagramTransition, target?: DiagramState): boolean {
  const { source } = transition;
  if (source.children.length === 0) return false;
  return target === undefined || containsState(source, target);
}

/** The states that need an "any state" stand-in, in definition order. */
export function statesWithAnyState(diagram: Diagram): Set<DiagramState> {
  const result = new Set<DiagramState>();
  for (const transition of diagram.transitions) {
    const targets = transition.targets.length > 0 ? transition.targets : [undefined];
    if (targets.some((target) => leavesFromAnyState(transition, target))) {
      result.add(transition.source);
    }
  }
  return result;
}
