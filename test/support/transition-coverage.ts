/**
 * Edge-covering transition tests for XState v5 machines.
 *
 * The pieces, in the order a test uses them:
 * - {@link definedTransitions}: every transition the machine's definition holds;
 * - {@link edgeCoveringPaths}: paths from the initial state that, together, take every
 *   reachable (state, event sample) edge of the machine's state graph;
 * - {@link replayPath}: runs one path on a live actor with a simulated clock, checks
 *   each state, and records the transitions the actor really took;
 * - {@link assertFullCoverage}: compares the two sets and prints one coverage line.
 *
 * Nothing here names a specific machine: per-machine knowledge (event payloads, delays,
 * how to abstract unbounded context) comes in through the options.
 */
import {
  type AdjacencyMap,
  type AdjacencyValue,
  getAdjacencyMap,
  getShortestPaths,
  type StatePath,
  serializeSnapshot,
  type TraversalOptions,
} from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import {
  __unsafe_getAllOwnEventDescriptors,
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  createActor,
  type EventFromLogic,
  type EventObject,
  type InputFrom,
  type InspectionEvent,
  SimulatedClock,
  type SnapshotFrom,
} from 'xstate';

/** The event XState uses for the first step of every generated path. */
const INIT_EVENT = 'xstate.init';
/** Prefix of the events XState raises for `after` (delayed) transitions. */
const AFTER_PREFIX = 'xstate.after.';

/** A path in @xstate/graph's shape: `xstate.init` first, each step holding the state it led to. */
type GraphPath = StatePath<AnyMachineSnapshot, EventObject>;
/** The traversal options this module hands to @xstate/graph. */
type Traversal = TraversalOptions<AnyMachineSnapshot, EventObject, unknown>;

/** One transition of a machine's definition, with a stable, human-readable id. */
export interface DefinedTransition {
  /** E.g. `#breaker.closed --FAILURE[0]--> #breaker.open`. */
  id: string;
  /** The event type, `always` for eventless transitions. */
  eventType: string;
  /** XState's own definition object, as found on the source state node. */
  transition: AnyTransitionDefinition;
}

/** One step sequence from the initial state, plus a readable event sequence for test names. */
export interface TransitionPath extends GraphPath {
  /** The events after `xstate.init`, joined by ` → `, payloads in parentheses. */
  description: string;
}

/** Example payloads per event type; an event type with no entry is sent as `{ type }`. */
export type EventSamples<TMachine extends AnyStateMachine> = {
  readonly [K in EventFromLogic<TMachine>['type']]?: readonly Extract<
    EventFromLogic<TMachine>,
    { type: K }
  >[];
};

/** Options of {@link edgeCoveringPaths}. */
export interface PathOptions<TMachine extends AnyStateMachine> {
  /** The machine's input; the same must be given to {@link replayPath}. */
  input?: InputFrom<TMachine>;
  /** Payloads for events that carry data; several samples make several edges. */
  samples?: EventSamples<TMachine>;
  /**
   * Which samples may be sent in a snapshot; default all. For paths that drive a runtime,
   * whose events carry facts: a fact the runtime cannot have in some state is left out there.
   */
  allowEvent?: (snapshot: SnapshotFrom<TMachine>, event: EventFromLogic<TMachine>) => boolean;
  /**
   * Identifies a graph vertex. Defaults to value plus context; override it to abstract
   * unbounded context (counters, timestamps), or the traversal never ends.
   */
  serializeState?: (snapshot: SnapshotFrom<TMachine>) => string;
}

/**
 * How long a named delay lasts: a number of milliseconds, or a function of the model's
 * snapshot before the delayed step and the events sent so far (for delays that depend
 * on earlier payloads).
 */
export type DelayResolver<TMachine extends AnyStateMachine> =
  | number
  | ((snapshot: SnapshotFrom<TMachine>, history: readonly EventObject[]) => number);

/** Options of {@link replayPath}. */
export interface ReplayOptions<TMachine extends AnyStateMachine> {
  input?: InputFrom<TMachine>;
  /** Delay name (as in the machine's `delays`) → its length for this input. */
  delays?: Readonly<Record<string, DelayResolver<TMachine>>>;
  /**
   * Event type → how to bring that event about on the live actor, for events that are
   * raised, not sent: `xstate.done.actor.<id>` comes from driving the child to its end.
   */
  drivers?: Readonly<Record<string, (actor: Actor<TMachine>) => void>>;
}

/** The id of an eventless transition's "event" in transition ids. */
const ALWAYS = 'always';

/** Every state node under (and including) `node`, parents before children. */
function allStateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap((child) => allStateNodes(child))];
}

/**
 * The stable id of a transition: source, event, index in the source's list for that
 * event, targets. The index tells guarded alternatives apart (`FAILURE[0]`, `FAILURE[1]`).
 */
export function transitionId(transition: AnyTransitionDefinition): string {
  const source: AnyStateNode = transition.source;
  const isAlways = source.always?.includes(transition) ?? false;
  const siblings = isAlways ? source.always : source.transitions.get(transition.eventType);
  const index = siblings?.indexOf(transition) ?? -1;
  const targets = transition.target?.map((target) => `#${target.id}`).join(',') ?? '(no target)';
  return `#${source.id} --${isAlways ? ALWAYS : transition.eventType}[${index}]--> ${targets}`;
}

/**
 * Every transition in the machine's definition: each state node's `.transitions` map
 * (which also holds delayed transitions as `xstate.after.<delay>.<stateId>`) plus its
 * `.always` list, walking all state nodes.
 */
export function definedTransitions(machine: AnyStateMachine): DefinedTransition[] {
  return allStateNodes(machine.root).flatMap((node) => {
    const onEvents = [...node.transitions.entries()].flatMap(([eventType, list]) =>
      list.map((transition) => ({ id: transitionId(transition), eventType, transition })),
    );
    const eventless = (node.always ?? []).map((transition) => ({
      id: transitionId(transition),
      eventType: ALWAYS,
      transition,
    }));
    return [...onEvents, ...eventless];
  });
}

/**
 * The events to try in a snapshot: every event type its active nodes handle, as samples.
 * It is a function, not an array, because an `events` array would replace XState's own
 * per-state list and so lose the `xstate.after.*` events.
 */
function eventsFor(
  samples: Readonly<Partial<Record<string, readonly EventObject[]>>>,
  allow: (snapshot: AnyMachineSnapshot, event: EventObject) => boolean = () => true,
): (snapshot: AnyMachineSnapshot) => EventObject[] {
  return (snapshot) =>
    __unsafe_getAllOwnEventDescriptors(snapshot)
      .flatMap((type: string): readonly EventObject[] => samples[type] ?? [{ type }])
      .filter((event) => allow(snapshot, event));
}

/** `FAILURE`, or `PROBE ({"timeoutMs":250})` for an event with a payload. */
export function formatEvent({ type, ...payload }: EventObject): string {
  return Object.keys(payload).length > 0 ? `${type} (${JSON.stringify(payload)})` : type;
}

/** The readable event sequence of a path, used as its test name. */
function describeSteps(steps: GraphPath['steps']): string {
  const events = steps.filter((step) => step.event.type !== INIT_EVENT).map((s) => s.event);
  return events.length > 0 ? events.map(formatEvent).join(' → ') : '(initial state)';
}

/** True when `prefix`'s events are the first events of `path` (or all of them). */
function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((event, i) => event === path[i]);
}

/** Drops every path whose event sequence starts another path: replaying the longer one covers it. */
function dropPrefixes<TPath extends GraphPath>(paths: readonly TPath[]): TPath[] {
  const keyed = paths
    .map((path) => ({ path, events: path.steps.map((step) => JSON.stringify(step.event)) }))
    .sort((a, b) => b.events.length - a.events.length);
  const kept: typeof keyed = [];
  for (const candidate of keyed) {
    if (!kept.some((longer) => isPrefix(candidate.events, longer.events))) kept.push(candidate);
  }
  return kept.map(({ path }) => path);
}

/** The shortest path to each reachable state, keyed by the serialized state. */
function shortestPathByState(
  machine: AnyStateMachine,
  traversal: Traversal,
  serializeState: (snapshot: AnyMachineSnapshot) => string,
): Map<string, GraphPath> {
  const paths: GraphPath[] = getShortestPaths(machine, traversal);
  return new Map(paths.map((path) => [serializeState(path.state), path]));
}

/** For every edge of the adjacency map, the shortest path to its source followed by the edge. */
function pathPerEdge(
  adjacency: AdjacencyMap<AnyMachineSnapshot, EventObject>,
  shortest: ReadonlyMap<string, GraphPath>,
): GraphPath[] {
  // The map's keys are branded strings, which `Object.entries` does not type.
  const vertices = Object.entries(adjacency) as [
    string,
    AdjacencyValue<AnyMachineSnapshot, EventObject>,
  ][];
  return vertices.flatMap(([source, { transitions }]) => {
    const head = shortest.get(source);
    if (!head) throw new Error(`no path to the reachable state ${source}`);
    return Object.values(transitions).map(({ event, state }) => ({
      state,
      steps: [...head.steps, { event, state }],
      weight: head.weight + 1,
    }));
  });
}

/**
 * Paths that together take every edge (state, event sample) reachable from the initial
 * state: for each edge, the shortest path to its source plus the edge itself, minus the
 * paths that are prefixes of others. Shortest or simple paths alone miss edges back into
 * already-visited states (self-loops, resets, retries), hence this builder.
 */
export function edgeCoveringPaths<TMachine extends AnyStateMachine>(
  machine: TMachine,
  options: PathOptions<TMachine> = {},
): TransitionPath[] {
  const serializeState = (options.serializeState ?? serializeSnapshot) as (
    snapshot: AnyMachineSnapshot,
  ) => string;
  const traversal: Traversal = {
    input: options.input,
    events: eventsFor(
      options.samples ?? {},
      options.allowEvent as
        | ((snapshot: AnyMachineSnapshot, event: EventObject) => boolean)
        | undefined,
    ),
    // @xstate/graph also passes the event and previous state; a vertex is the state alone.
    serializeState: (snapshot) => serializeState(snapshot),
  };
  const adjacency = getAdjacencyMap(machine as AnyStateMachine, traversal);
  const shortest = shortestPathByState(machine, traversal, serializeState);
  // The initial path keeps a machine with no events (only `always`) testable.
  const initial = [...shortest.values()].filter((path) => path.steps.length <= 1);
  return dropPrefixes([...initial, ...pathPerEdge(adjacency, shortest)]).map((path) => ({
    ...path,
    description: describeSteps(path.steps),
  }));
}

/** `probeInterval` from `xstate.after.probeInterval.breaker.open` (delay names hold no dot). */
function delayName(afterEventType: string): string {
  return afterEventType.slice(AFTER_PREFIX.length).split('.')[0] ?? '';
}

/** The length of the delay behind an `xstate.after.*` event, from the test's `delays`. */
function delayMs<TMachine extends AnyStateMachine>(
  eventType: string,
  delays: ReplayOptions<TMachine>['delays'],
  snapshot: AnyMachineSnapshot,
  history: readonly EventObject[],
): number {
  const name = delayName(eventType);
  const resolver = delays?.[name];
  if (typeof resolver === 'number') return resolver;
  if (resolver) return resolver(snapshot as SnapshotFrom<TMachine>, history);
  // Inline numeric delays (`after: { 1000: ... }`) name their own length.
  if (name !== '' && Number.isFinite(Number(name))) return Number(name);
  throw new Error(`replayPath: no length given for delay "${name}" (${eventType})`);
}

/** Checks the live actor against one step of the model; `label` names the step in failures. */
type StepCheck = (expected: AnyMachineSnapshot, label: string) => void;

/**
 * Lets a delayed transition fire by advancing the simulated clock instead of sending its
 * event: to 1 ms before the delay, where the state must not have moved yet (`expectStill`),
 * then by the last 1 ms. This checks the timer's length, not only that it exists.
 */
function elapse(clock: SimulatedClock, ms: number, expectStill: () => void): void {
  if (ms <= 0) {
    clock.increment(0);
    return;
  }
  clock.increment(ms - 1);
  expectStill();
  clock.increment(1);
}

/**
 * Replays `path` on a live actor with a simulated clock and returns the ids (as in
 * {@link definedTransitions}) of the transitions the actor took.
 *
 * Plain events are sent; delayed steps (`xstate.after.*`) advance the clock by the length
 * `options.delays` gives (see {@link elapse}). That assumes the delayed step's timer is the
 * only one due in that window, which holds when no other timer of the machine is pending.
 *
 * After every step the actor's state value and status must equal the model's, and the actor
 * must not have errored. Only the actor under test's microsteps count: invoked children are
 * covered by their own machine's tests.
 */
export function replayPath<TMachine extends AnyStateMachine>(
  machine: TMachine,
  path: TransitionPath,
  options: ReplayOptions<TMachine> = {},
): Set<string> {
  const traversed = new Set<string>();
  const errors: unknown[] = [];
  const clock = new SimulatedClock();
  const inspect = (event: InspectionEvent) => {
    // The actor under test is the root of its system. Compare session ids rather than
    // references: `createActor` already runs the initial microsteps (the `always`
    // transitions of the initial state), before it returns the actor to compare with.
    if (event.type !== '@xstate.microstep' || event.actorRef.sessionId !== event.rootId) return;
    for (const transition of event._transitions) traversed.add(transitionId(transition));
  };
  const actor = createActor(machine, { input: options.input, clock, inspect });
  // Observing errors keeps them out of XState's unhandled-error path and lets us report them.
  actor.subscribe({ error: (error) => errors.push(error) });
  const expectStep: StepCheck = (expected, label) => {
    const live = actor.getSnapshot() as AnyMachineSnapshot;
    expect(errors, `actor errored after ${label}`).toEqual([]);
    expect(live.value, `state value after ${label}`).toEqual(expected.value);
    expect(live.status, `status after ${label}`).toBe(expected.status);
  };

  actor.start();
  try {
    const [init, ...steps] = path.steps;
    if (!init) return traversed;
    expectStep(init.state, INIT_EVENT);
    const history: EventObject[] = [];
    let previous = init.state;
    for (const [index, { event, state }] of steps.entries()) {
      const label = `step ${index + 1} (${formatEvent(event)})`;
      const drive = options.drivers?.[event.type];
      if (drive !== undefined) {
        drive(actor);
      } else if (event.type.startsWith(AFTER_PREFIX)) {
        const ms = delayMs(event.type, options.delays, previous, history);
        const before = previous;
        elapse(clock, ms, () => expectStep(before, `${label} minus 1 ms`));
      } else {
        // The event is one of the machine's own descriptors or the test's typed samples.
        actor.send(event as EventFromLogic<TMachine>);
      }
      expectStep(state, label);
      history.push(event);
      previous = state;
    }
    return traversed;
  } finally {
    actor.stop();
  }
}

/**
 * Prints `transition coverage <name>: covered/defined` (or `runtime coverage …` for
 * transitions taken through the public objects) and fails, listing the missing
 * transition ids, unless every defined transition was traversed.
 */
export function assertFullCoverage(
  name: string,
  defined: readonly DefinedTransition[],
  traversed: ReadonlySet<string>,
  kind: 'transition' | 'runtime' = 'transition',
): void {
  const missing = defined.filter(({ id }) => !traversed.has(id)).map(({ id }) => id);
  console.log(`${kind} coverage ${name}: ${defined.length - missing.length}/${defined.length}`);
  const by = kind === 'runtime' ? 'taken through the public objects' : 'traversed';
  expect(missing, `transitions of ${name} never ${by}`).toEqual([]);
}

/** One set of generated paths and how to replay them; a machine may need several (one per input). */
export interface PathSuite<TMachine extends AnyStateMachine> {
  /** Prefixes the suite's test names, e.g. the name of its input. */
  label?: string;
  paths: readonly TransitionPath[];
  replay?: ReplayOptions<TMachine>;
}

/**
 * Declares a machine's generated-path tests: one test per path, replayed on a live actor,
 * and a last test that requires every transition of the definition to have been taken.
 */
export function describeGeneratedPaths<TMachine extends AnyStateMachine>(
  name: string,
  machine: TMachine,
  suites: readonly PathSuite<TMachine>[],
): void {
  const defined = definedTransitions(machine);
  const traversed = new Set<string>();
  describe(`${name} machine: generated transition paths`, () => {
    for (const { label, paths, replay } of suites) {
      const prefix = label === undefined ? '' : `${label}: `;
      it(`${prefix}generates paths`, () => {
        expect(paths.length).toBeGreaterThan(0);
      });
      for (const path of paths) {
        it(`${prefix}${path.description}`, () => {
          for (const id of replayPath(machine, path, replay)) traversed.add(id);
        });
      }
    }
    it('traverses every defined transition', () => {
      assertFullCoverage(name, defined, traversed);
    });
  });
}

/** A numeric field of the last event of `type` sent so far, for delays set by an earlier payload. */
export function lastEventField(
  history: readonly EventObject[],
  type: string,
  field: string,
): number | undefined {
  const event = [...history].reverse().find((e) => e.type === type) as
    | Record<string, unknown>
    | undefined;
  const value = event?.[field];
  return typeof value === 'number' ? value : undefined;
}
