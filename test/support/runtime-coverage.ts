/**
 * Generated paths driven through the PUBLIC objects (a `CircuitBreaker`, a `SyncWorker`, …)
 * instead of the machine's own actor, with the transitions the real runtime took measured
 * against the machine's definition.
 *
 * `transition-coverage.ts` proves the machine can take every transition; this proves the
 * library's objects really make it take them, by the public API alone. The pieces:
 * - {@link TransitionRecorder}: hears the transitions actors really took, through XState's
 *   `inspect` option, which every public object accepts;
 * - {@link RuntimeDriver}: per machine, how to build the public objects, how to bring each
 *   path step about through their API, and what to check that the snapshot does not show;
 * - {@link describeRuntimePaths}: one test per path, then the coverage line.
 *
 * Nothing here names a specific machine.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyTransitionDefinition,
  createActor,
  type EventFromLogic,
  type EventObject,
  type InspectionEvent,
  SimulatedClock,
  type SnapshotFrom,
  type StateValue,
  transition,
} from 'xstate';
import {
  assertFullCoverage,
  definedTransitions,
  formatEvent,
  type TransitionPath,
  transitionId,
} from './transition-coverage.js';

/** The machine id of the actor behind an inspection event, or `undefined` for non-machine logic. */
function machineIdOf(actorRef: unknown): string | undefined {
  // Inspection types the actor as `ActorRefLike`; the live object is an `Actor`, which has `logic`.
  const logic = (actorRef as { logic?: Partial<AnyStateMachine> }).logic;
  return typeof logic?.id === 'string' && logic.root !== undefined ? logic.id : undefined;
}

/** Adds `id` to the set kept for `key`, creating the set on first use. */
function addTo(sets: Map<string, Set<string>>, key: string, id: string): void {
  let set = sets.get(key);
  if (set === undefined) {
    set = new Set();
    sets.set(key, set);
  }
  set.add(id);
}

/** Collects the transitions actors really took, from XState inspection events; pass `recorder.inspect` as the `inspect` option of public objects. */
export class TransitionRecorder {
  /**
   * The inspector to hand to public objects. It keeps only `@xstate.microstep` events, the
   * ones that list the transitions taken, of every actor (invoked children included).
   */
  readonly inspect: (event: InspectionEvent) => void;
  private readonly all = new Map<string, Set<string>>();
  private sinceMark = new Map<string, Set<string>>();

  constructor() {
    // An arrow bound at construction, so `recorder.inspect` works passed on its own.
    this.inspect = (event) => {
      if (event.type !== '@xstate.microstep') return;
      const machineId = machineIdOf(event.actorRef);
      if (machineId === undefined) return;
      for (const taken of event._transitions) {
        const id = transitionId(taken);
        addTo(this.all, machineId, id);
        addTo(this.sinceMark, machineId, id);
      }
    };
  }

  /** Transition ids (as `transitionId` in transition-coverage.ts gives them) taken by actors whose machine id (`(actorRef.logic as AnyStateMachine).id`) is `machineId`. */
  taken(machineId: string): ReadonlySet<string> {
    return new Set(this.all.get(machineId));
  }

  /** Starts a new window for {@link takenSinceMark}: transitions taken so far no longer count there. */
  mark(): void {
    this.sinceMark = new Map();
  }

  /** Same as {@link taken}, but only those taken since the last call of `mark()`; for per-step checks. */
  takenSinceMark(machineId: string): ReadonlySet<string> {
    return new Set(this.sinceMark.get(machineId));
  }
}

/** One step of a generated path, as a driver sees it. */
export interface RuntimeStep<TMachine extends AnyStateMachine> {
  /** The path step's event (`xstate.after.*` included). */
  event: EventFromLogic<TMachine>;
  /** The model state before the step. */
  before: SnapshotFrom<TMachine>;
  /**
   * The model state the step must lead to. Context fields the path's `serializeState`
   * abstracts may differ from what the events imply: compare those through the same abstraction.
   */
  after: SnapshotFrom<TMachine>;
  /** The events of the path so far, this one excluded. */
  history: readonly EventFromLogic<TMachine>[];
  /** The step's position in the path, from 0 (the first event after `xstate.init`). */
  index: number;
}

/** How to run a machine's generated paths on the public objects that use it. */
export interface RuntimeDriver<TMachine extends AnyStateMachine, TWorld> {
  /** Builds fresh public objects for one path, passing `inspect` to each whose actors count. */
  setUp(inspect: (event: InspectionEvent) => void): TWorld | Promise<TWorld>;
  /** Brings about the step's event using ONLY the public API (enqueue, settling a task's promise, clock.increment on a SimulatedClock, shutdown(), recordFailure(), allow(), observe(), …). */
  step(world: TWorld, step: RuntimeStep<TMachine>): void | Promise<void>;
  /** After each step: asserts what the machine's snapshot does not itself compute (public getters, answers, counters, fates heard). */
  check(world: TWorld, step: RuntimeStep<TMachine>, label: string): void | Promise<void>;
  /** Releases the world's objects (dispose, shutdown) after the path, passed or failed. */
  tearDown?(world: TWorld): void | Promise<void>;
}

/** What the model does in one step. */
interface ModelStep {
  /** The ids of the transitions it takes, `always` and raised-event microsteps included. */
  transitions: ReadonlySet<string>;
  /** The state value it ends in. */
  value: StateValue;
  /**
   * True when nothing of the step can be observed: only targetless transitions, no
   * executable action, and value, context and status unchanged (a success in a healthy
   * `closed` breaker, say). A public object may then skip sending the event, as a fast path.
   */
  unobservable: boolean;
}

/**
 * The model's step, computed apart from the objects under test: an actor of the machine is
 * restored from `before` and sent `event` directly (an `xstate.after.*` event included, so
 * no timer is waited for), and its microsteps are heard as the recorder hears the real ones.
 * XState's pure `transition()` tells whether the step has any effect to observe.
 */
function modelStep(
  machine: AnyStateMachine,
  before: AnyMachineSnapshot,
  event: EventObject,
): ModelStep {
  const taken: AnyTransitionDefinition[] = [];
  const errors: unknown[] = [];
  const model = createActor(machine, {
    snapshot: machine.getPersistedSnapshot(before),
    // Simulated and never advanced: no timer of the model fires during the step.
    clock: new SimulatedClock(),
    inspect: (inspected) => {
      // Only the restored actor's own microsteps: children are their machines' business.
      if (inspected.type !== '@xstate.microstep') return;
      if (inspected.actorRef.sessionId !== inspected.rootId) return;
      taken.push(...inspected._transitions);
    },
  });
  model.subscribe({ error: (error) => errors.push(error) });
  model.start();
  taken.length = 0; // restoring is not part of the step
  let next: AnyMachineSnapshot;
  try {
    model.send(event);
    next = model.getSnapshot() as AnyMachineSnapshot;
  } finally {
    model.stop();
  }
  if (errors.length > 0) {
    throw new Error(`the model errored on ${formatEvent(event)}: ${String(errors[0])}`);
  }
  const [, actions] = transition(machine, before, event);
  const unobservable =
    taken.every((t) => (t.target?.length ?? 0) === 0) &&
    actions.length === 0 &&
    next.status === before.status &&
    isDeepStrictEqual(next.value, before.value) &&
    isDeepStrictEqual(next.context, before.context);
  return { transitions: new Set(taken.map(transitionId)), value: next.value, unobservable };
}

/**
 * The state values of the actors of one machine id, as their last `@xstate.snapshot`
 * inspection events gave them; the harness's own view of the live state.
 */
class LiveStates {
  private readonly values = new Map<string, StateValue>();

  constructor(private readonly machineId: string) {}

  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot' || machineIdOf(event.actorRef) !== this.machineId) return;
    this.values.set(event.actorRef.sessionId, (event.snapshot as AnyMachineSnapshot).value);
  };

  /** Fails unless some actor of the machine is in `value`; `label` names the moment. */
  expectSomeIn(value: StateValue, label: string): void {
    const values = [...this.values.values()];
    // An empty list means setUp passed `inspect` to no object whose actors run this machine.
    expect(values, `actors of machine "${this.machineId}" heard through inspect`).not.toEqual([]);
    expect(values, `state of the "${this.machineId}" actor after ${label}`).toContainEqual(value);
  }
}

/**
 * Runs one path on fresh public objects and returns the transitions of `machineId` they took.
 *
 * After each step: every transition the model took must be among those the recorder heard
 * in that step (unless the step is unobservable, see {@link ModelStep}), some actor of the
 * machine must be in the model's state, and then the driver checks the rest.
 */
async function runPath<TMachine extends AnyStateMachine, TWorld>(
  machine: TMachine,
  machineId: string,
  path: TransitionPath,
  driver: RuntimeDriver<TMachine, TWorld>,
): Promise<ReadonlySet<string>> {
  const recorder = new TransitionRecorder();
  const live = new LiveStates(machineId);
  const world = await driver.setUp((event) => {
    recorder.inspect(event);
    live.inspect(event);
  });
  try {
    const [init, ...steps] = path.steps;
    if (init === undefined) return recorder.taken(machineId);
    live.expectSomeIn(init.state.value, 'setUp');
    const history: EventFromLogic<TMachine>[] = [];
    let before = init.state as SnapshotFrom<TMachine>;
    for (const [index, { event, state }] of steps.entries()) {
      const label = `step ${index + 1} (${formatEvent(event)})`;
      const after = state as SnapshotFrom<TMachine>;
      const step: RuntimeStep<TMachine> = {
        event: event as EventFromLogic<TMachine>,
        before,
        after,
        history: [...history],
        index,
      };
      const model = modelStep(machine, before as AnyMachineSnapshot, event);
      expect(model.value, `the model disagrees with the path at ${label}`).toEqual(
        (after as AnyMachineSnapshot).value,
      );
      recorder.mark();
      await driver.step(world, step);
      if (!model.unobservable) {
        const heard = recorder.takenSinceMark(machineId);
        const missing = [...model.transitions].filter((id) => !heard.has(id));
        expect(missing, `transitions of "${machineId}" the model took at ${label}`).toEqual([]);
      }
      live.expectSomeIn(model.value, label);
      await driver.check(world, step, label);
      history.push(step.event);
      before = after;
    }
    return recorder.taken(machineId);
  } finally {
    await driver.tearDown?.(world);
  }
}

/**
 * One `it` per path (named by its event sequence), then one `it` that prints `runtime coverage <name>: N/N` (transitions taken through the public objects, over all paths / transitions in the definition, using `definedTransitions`) and fails listing the missing ids below 100%.
 *
 * Each path gets fresh objects from `driver.setUp`. After setUp, some actor of the machine
 * must be in the path's initial state. After each step, the recorder must have heard, in
 * that step, every transition the model took (an unobservable step, one that changes and
 * does nothing, is exempt, so a fast path that skips its event passes), some actor of the
 * machine must be in the model's new state, and `driver.check` runs.
 *
 * @param options.machineId whose actors count, when not `machine.id` (a machine that
 *   `provide()` adapted keeps its id, so this is rarely needed)
 */
export function describeRuntimePaths<TMachine extends AnyStateMachine, TWorld>(
  name: string,
  machine: TMachine,
  paths: readonly TransitionPath[],
  driver: RuntimeDriver<TMachine, TWorld>,
  options?: { machineId?: string },
): void {
  describeRuntimePathSets(name, machine, [{ paths, driver }], options);
}

/** One set of paths and the driver that runs them (a machine may need several, one per input). */
export interface RuntimePathSet<TMachine extends AnyStateMachine> {
  /** Names the set in test titles, e.g. the input it is for. */
  label?: string;
  paths: readonly TransitionPath[];
  // biome-ignore lint/suspicious/noExplicitAny: each set has its own world type.
  driver: RuntimeDriver<TMachine, any>;
}

/**
 * {@link describeRuntimePaths} for several sets of paths, each with its own driver (for a
 * machine whose transitions depend on its input, such as the system machine): one coverage
 * line over all sets together.
 */
export function describeRuntimePathSets<TMachine extends AnyStateMachine>(
  name: string,
  machine: TMachine,
  sets: readonly RuntimePathSet<TMachine>[],
  options?: { machineId?: string },
): void {
  const machineId = options?.machineId ?? machine.id;
  const defined = definedTransitions(machine);
  const taken = new Set<string>();
  describe(`${name} machine: generated paths through the public objects`, () => {
    for (const { label, paths, driver } of sets) {
      for (const path of paths) {
        it(label === undefined ? path.description : `${label}: ${path.description}`, async () => {
          for (const id of await runPath(machine, machineId, path, driver)) taken.add(id);
        });
      }
    }
    it('takes every defined transition through the public objects', () => {
      assertFullCoverage(name, defined, taken, 'runtime');
    });
  });
}
