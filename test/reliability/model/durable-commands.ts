/**
 * The commands of the durable model-based test, and the real system they drive:
 * a SyncWorker with durable tasks on a `memoryBacklog()` and a simulated clock,
 * whose two handlers, `write` (one task a call) and `writeMany` (a batch
 * handler), call a scripted remote. Every command changes the model and the
 * real system the same way, lets the worker come to rest, then checks every
 * invariant (`checkInvariants`); `Advance` and `Restart` also check at every
 * timer they step through.
 *
 * The handlers and closure tasks also watch the worker from inside: a run is
 * in flight from its call until the worker tells its outcome or aborts its
 * signal, and a call while another run of the same key is in flight, or while
 * `concurrency` runs are, is a violation the invariants report.
 */
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import {
  type BacklogRecord,
  type BacklogStore,
  type DeadLetter,
  type DurableBatchContext,
  type DurableContext,
  type DurableTask,
  memoryBacklog,
  NonRetryableError,
  type SyncTask,
  SyncWorker,
} from '../../../src/index.js';
import { mulberry32 } from '../../support/random.js';
import { recordingLogger, settled } from '../../support/tasks.js';
import {
  type Call,
  type ClosureBody,
  DURABLE_TIMING,
  type DurableAnswer,
  DurableModel,
  type DurableParams,
  describeCall,
  ensure,
  type Handler,
  type Observed,
  type Outcome,
} from './durable-model.js';

// --- time ------------------------------------------------------------------

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The next double above a positive `x`. */
function nextUp(x: number): number {
  f64[0] = x;
  u64[0] = (u64[0] as bigint) + 1n;
  return f64[0] as number;
}

/**
 * A SimulatedClock that knows when each of its timers falls due, so the test
 * can stop at every one and let the worker's promise callbacks run between two
 * of them, as they would in real time. Backoffs are fractional, so a due time
 * is the first double at which the clock fires the timer.
 */
export class SteppingClock extends SimulatedClock {
  private readonly due = new Map<number, number>();

  override setTimeout(fn: () => void, timeout: number): number {
    const start = this.now();
    let at = start + timeout;
    while (at - start < timeout) at = nextUp(at);
    const id = super.setTimeout(() => {
      this.due.delete(id);
      fn();
    }, timeout);
    this.due.set(id, at);
    return id;
  }

  override clearTimeout(id: number): void {
    this.due.delete(id);
    super.clearTimeout(id);
  }

  /** When the earliest pending timer falls due. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const at of this.due.values()) if (next === undefined || at < next) next = at;
    return next;
  }

  /** Moves to `at` (never back), firing what falls due. */
  moveTo(at: number): void {
    this.set(Math.max(at, this.now()));
  }
}

// --- the real system -------------------------------------------------------

export interface DurableWorld {
  readonly params: DurableParams;
  readonly clock: SteppingClock;
  /** One store for the whole story: each worker opens it, and releases it at shutdown. */
  readonly backlog: BacklogStore;
  readonly log: Observed[];
  readonly logLines: { level: string; message: string }[];
  readonly logger: ReturnType<typeof recordingLogger>['logger'];
  readonly random: () => number;
  worker: SyncWorker;
  gen: number;
  /** The remote's script, as the model's. */
  answers: DurableAnswer[];
  defaultAnswer: DurableAnswer;
  breakerChanges: number;
  calls: number;
  /** The current worker's runs in flight as the handlers and tasks see them: call number by key. */
  inFlight: Map<string, number>;
  /** Calls that broke "at most one per key" or "at most `concurrency`", as the handlers saw them. */
  violations: string[];
}

/** A durable task's payload: its sequence number, and whether the remote refuses its data. */
type Payload = { seq: number; bad?: true };

const seqOf = (task: DurableTask | BacklogRecord): number =>
  (task.payload as unknown as Payload).seq;

/** The in-flight slot of a durable key, or of the closure tasks (which share one). */
const durableSlot = (key: string) => `key ${key}`;
const CLOSURE_SLOT = 'closure tasks';

/** A run begins: it must be the only one of its key, and one of at most `concurrency`. */
function noteStart(r: DurableWorld, slot: string, call: Call): void {
  const other = r.inFlight.get(slot);
  if (other !== undefined) {
    r.violations.push(`${describeCall(call)} began while run #${other} of ${slot} was in flight`);
  }
  r.inFlight.set(slot, call.no);
  if (r.inFlight.size > r.params.concurrency) {
    r.violations.push(
      `${describeCall(call)} began beside ${r.inFlight.size - 1} runs in flight (concurrency ${r.params.concurrency})`,
    );
  }
}

/** The worker is done with run `no` of `slot` (its outcome told, or its signal aborted). */
function noteEnd(r: DurableWorld, gen: number, slot: string, no?: number): void {
  if (gen !== r.gen) return;
  if (no === undefined || r.inFlight.get(slot) === no) r.inFlight.delete(slot);
}

/**
 * The store without `saveBreaker` (it is optional): every worker's breaker starts closed,
 * as the model's restart says. Resuming an outage across a restart, what a store that keeps
 * the breaker's state does, is tested in test/durable/breaker.restart.test.ts.
 */
function withoutBreakerState(store: BacklogStore): BacklogStore {
  return Object.assign(Object.create(store) as BacklogStore, { saveBreaker: undefined });
}

/** A fresh model and real system with the same settings. */
export function createDurableWorld(params: DurableParams) {
  const { logger, lines } = recordingLogger();
  const real: DurableWorld = {
    params,
    clock: new SteppingClock(),
    backlog: withoutBreakerState(memoryBacklog()),
    log: [],
    logLines: lines,
    logger,
    random: mulberry32(params.jitterSeed),
    worker: undefined as unknown as SyncWorker,
    gen: 0,
    answers: [],
    defaultAnswer: 'held',
    breakerChanges: 0,
    calls: 0,
    inFlight: new Map(),
    violations: [],
  };
  real.worker = startWorker(real);
  return { model: new DurableModel(params), real };
}

/** A worker on the world's store and clock, logging everything it tells. */
function startWorker(r: DurableWorld): SyncWorker {
  const gen = r.gen;
  const now = () => r.clock.now();
  let self: SyncWorker | undefined;
  // The retry policy takes its jitter source from Math.random when the worker is built.
  const original = Math.random;
  Math.random = r.random;
  try {
    self = new SyncWorker({
      clock: r.clock,
      backlog: r.backlog,
      maxQueue: r.params.maxQueue,
      concurrency: r.params.concurrency,
      idleAfterMs: DURABLE_TIMING.idleAfterMs,
      logger: r.logger,
      handlers: {
        write: (payload: Payload, context: DurableContext) =>
          remote(r, gen, self as SyncWorker, 'write', [payload], {
            ids: [context.id],
            attempts: [context.attempt],
            key: context.key,
            signal: context.signal,
          }),
        writeMany: {
          batch: { maxSize: r.params.batchSize },
          run: (payloads: Payload[], context: DurableBatchContext) =>
            remote(r, gen, self as SyncWorker, 'writeMany', payloads, context),
        },
      },
      retry: {
        maxAttempts: r.params.maxAttempts,
        baseMs: DURABLE_TIMING.retryBaseMs,
        maxMs: DURABLE_TIMING.retryMaxMs,
      },
      onDeadLetter: (task, error) => {
        const letter = task as DeadLetter;
        noteEnd(r, gen, durableSlot(letter.key));
        r.log.push({
          type: 'deadLetter',
          at: now(),
          gen,
          ref: seqOf(task),
          error,
          attempts: letter.attempts,
          id: letter.id,
          reason: letter.reason,
        });
      },
      breaker: {
        failureThreshold: r.params.failureThreshold,
        probeIntervalMs: DURABLE_TIMING.probeIntervalMs,
      },
      latencyTracker: {
        defaultMs: DURABLE_TIMING.timeoutMs,
        floorMs: DURABLE_TIMING.timeoutMs,
        ceilingMs: DURABLE_TIMING.timeoutMs,
      },
    });
  } finally {
    Math.random = original;
  }
  const worker = self;
  worker.on('taskSucceeded', ({ task }) => {
    if (!('handler' in task)) return;
    noteEnd(r, gen, durableSlot(task.key));
    const ref = seqOf(task);
    r.log.push({ type: 'succeeded', at: now(), gen, ref, attempts: task.attempts, id: task.id });
  });
  worker.on('taskFailed', ({ task, error }) => {
    if ('handler' in task) r.log.push({ type: 'failed', at: now(), gen, ref: seqOf(task), error });
  });
  worker.on('taskRetried', ({ task, error, attempt, delayMs }) => {
    noteEnd(r, gen, durableSlot(task.key));
    r.log.push({ type: 'retried', at: now(), gen, ref: seqOf(task), error, attempt, delayMs });
  });
  worker.on('breakerStateChange', ({ from, to }) => {
    r.breakerChanges++;
    r.log.push({ type: 'breaker', at: now(), gen, from, to });
  });
  return worker;
}

/**
 * The remote behind both handlers: it answers each call (one task, or a
 * batch) as the script says; a call holding a task of bad data fails with a
 * NonRetryableError where the script says `ok`.
 */
function remote(
  r: DurableWorld,
  gen: number,
  worker: SyncWorker,
  handler: Handler,
  payloads: readonly Payload[],
  context: Pick<DurableBatchContext, 'ids' | 'attempts' | 'key' | 'signal'>,
): Promise<string> {
  const answer = r.answers.shift() ?? r.defaultAnswer;
  const refs = payloads.map((p) => p.seq);
  const bad = payloads.find((p) => p.bad === true);
  const tasks = refs.map((seq) => `d${seq}`).join('+');
  const call: Call = {
    no: r.calls++,
    gen,
    kind: 'durable',
    refs,
    ids: [...context.ids],
    attempts: [...context.attempts],
    handler,
    key: context.key,
    at: r.clock.now(),
    breaker: worker.breaker?.state ?? 'closed',
    spell: r.breakerChanges,
    waiting: worker.size,
    answer,
    signal: context.signal,
    error: undefined,
    settle: undefined,
  };
  r.log.push({ type: 'start', at: call.at, call });
  noteStart(r, durableSlot(context.key), call);
  context.signal.addEventListener('abort', () =>
    noteEnd(r, gen, durableSlot(context.key), call.no),
  );
  // The remote ignores the abort signal: a write it received lands even if the worker gave up on it.
  const respond = (answered: Outcome): Promise<string> => {
    const outcome = answered === 'ok' && bad !== undefined ? 'fatal' : answered;
    const error =
      outcome === 'ok'
        ? undefined
        : outcome === 'fatal'
          ? new NonRetryableError(
              bad === undefined ? `400 for ${tasks}` : `400: bad data in d${bad.seq}`,
            )
          : new Error(`503 for ${tasks}`);
    r.log.push({ type: 'remote', at: r.clock.now(), call, outcome, error });
    return error === undefined ? Promise.resolve(`written ${tasks}`) : Promise.reject(error);
  };
  switch (answer) {
    case 'hang':
      return new Promise(() => {});
    case 'held':
      return new Promise((resolve, reject) => {
        call.settle = (outcome) => {
          respond(outcome).then(resolve, reject);
        };
      });
    default:
      return respond(answer);
  }
}

/** A closure task that logs its run and its callbacks. */
function closureTask(r: DurableWorld, id: number, body: ClosureBody): SyncTask {
  const gen = r.gen;
  const worker = r.worker;
  let run: Call | undefined;
  const fate = (ok: boolean, value: unknown) => {
    if (run !== undefined) noteEnd(r, gen, CLOSURE_SLOT, run.no);
    r.log.push({ type: 'fate', at: r.clock.now(), gen, ref: id, ok, value });
  };
  return {
    name: `c${id}`,
    run: (context) => {
      const call: Call = {
        no: r.calls++,
        gen,
        kind: 'closure',
        refs: [id],
        ids: [],
        attempts: [],
        handler: undefined,
        key: undefined,
        at: r.clock.now(),
        breaker: worker.breaker?.state ?? 'closed',
        spell: r.breakerChanges,
        waiting: worker.size,
        answer: body,
        signal: context.signal,
        error: body === 'throw' ? new Error(`c${id} threw`) : undefined,
        settle: undefined,
      };
      r.log.push({ type: 'start', at: call.at, call });
      noteStart(r, CLOSURE_SLOT, call);
      run = call;
      if (body === 'sync') return id;
      if (body === 'throw') throw call.error;
      return new Promise((resolve, reject) => {
        call.settle = (outcome) => {
          const error = outcome === 'ok' ? undefined : new Error(`c${id} rejected`);
          r.log.push({ type: 'remote', at: r.clock.now(), call, outcome, error });
          if (error === undefined) resolve(`done ${id}`);
          else reject(error);
        };
      });
    },
    onSuccess: (value) => fate(true, value),
    onFailure: (error) => fate(false, error),
  };
}

// --- invariants ------------------------------------------------------------

/** Consumes the log into the model, naming the command in any failure. */
function consume(m: DurableModel, r: DurableWorld, at: string): void {
  try {
    m.consume(r.log);
  } catch (error) {
    throw new Error(`${at}: ${(error as Error).message}`);
  }
}

const sameList = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Nothing lost: every accepted durable task is exactly one of delivered,
 * dead-lettered (`deadLetters()`) or pending (`list()`, `stats()`), as the
 * model says; the store keeps each pending task's attempts and last error.
 */
function checkStore(m: DurableModel, r: DurableWorld, at: string): void {
  const list = r.backlog.list();
  const kept = list.map(seqOf);
  const pending = m.durable.filter((t) => t.state === 'pending').map((t) => t.seq);
  ensure(
    sameList(kept, pending),
    `${at}: the backlog's pending tasks (list(), oldest first) are not the model's`,
    kept,
    pending,
  );
  for (const record of list) {
    const t = m.task(seqOf(record));
    if (t.id === undefined) m.learnId(t, record.id);
    ensure(
      record.key === t.key &&
        record.id === t.id &&
        record.attempts === t.failedRuns &&
        (record.remoteFailures ?? 0) === t.remoteFailures &&
        record.lastError === t.lastError,
      `${at}: the stored record of d${t.seq}`,
      record,
      {
        key: t.key,
        id: t.id,
        attempts: t.failedRuns,
        remoteFailures: t.remoteFailures,
        lastError: t.lastError,
      },
    );
  }
  const letters = r.backlog.deadLetters();
  const dead = letters.map(seqOf).sort((a, b) => a - b);
  const expectedDead = m.durable.filter((t) => t.state === 'dead').map((t) => t.seq);
  ensure(
    sameList(dead, expectedDead),
    `${at}: the backlog's dead letters are not the model's`,
    dead,
    expectedDead,
  );
  for (const letter of letters) {
    const t = m.task(seqOf(letter));
    ensure(
      letter.id === t.id && letter.attempts === t.finalAttempt && letter.reason === t.lastError,
      `${at}: the dead letter of d${t.seq}`,
      letter,
      { id: t.id, attempts: t.finalAttempt, reason: t.lastError },
    );
  }
  const stats = r.backlog.stats();
  ensure(
    stats.pending === pending.length && stats.deadLetters === dead.length,
    `${at}: backlog.stats()`,
    stats,
    { pending: pending.length, deadLetters: dead.length },
  );
}

/** Every invariant, checked with the worker at rest. */
export function checkInvariants(m: DurableModel, r: DurableWorld, after: string): void {
  const now = r.clock.now();
  const at = `after ${after} (at ${now} ms)`;
  // What the handlers and tasks saw from inside comes first: it names the run that broke the bound.
  ensure(r.violations.length === 0, `${at}: ${r.violations[0]}`, r.violations);
  consume(m, r, at);
  ensure(
    m.settledLog,
    `${at}: a fate half told (onDeadLetter without taskFailed, or a refusal without it)`,
  );
  m.atRest(now);
  const w = r.worker;
  const life = { state: w.state, drain: w.stats().drain };
  const expectedLife = { state: m.lifecycle.state, drain: m.lifecycle.drain };
  ensure(
    life.state === expectedLife.state && life.drain === expectedLife.drain,
    `${at}: the lifecycle (state, stats().drain)`,
    life,
    expectedLife,
  );
  if (!m.finished) {
    const runs = [...m.durableRuns.values()];
    if (m.closureRun !== undefined) runs.push(m.closureRun);
    for (const call of runs) {
      ensure(
        m.callState(call).outcome === undefined,
        `${at}: the worker did not act on the answer to the ${describeCall(call)}`,
      );
      ensure(
        now < call.at + DURABLE_TIMING.timeoutMs + 1e-6,
        `${at}: the ${describeCall(call)} outlived its timeout`,
      );
    }
    const inFlight = r.inFlight.size;
    ensure(
      inFlight === runs.length,
      `${at}: runs in flight, as the handlers saw them`,
      [...r.inFlight],
      runs.map(describeCall),
    );
    if (runs.length < m.params.concurrency && m.breakerState !== 'open' && !m.probing) {
      // Progress: with a free slot and the breaker letting calls through, nothing that could start waits.
      m.promote(now);
      const ready = m.readyKeys();
      ensure(
        ready.length === 0,
        `${at}: stalled: key ${ready[0]} is ready, ${runs.length} of ${m.params.concurrency} run, the breaker is ${m.breakerState}`,
      );
      ensure(
        !m.closureStartable,
        `${at}: stalled: ${w.size} closure task(s) wait, none runs, ${runs.length} of ${m.params.concurrency} run`,
      );
    }
    const s = w.stats();
    const expected = m.stats();
    for (const k of Object.keys(expected) as (keyof typeof expected)[]) {
      ensure(s[k] === expected[k], `${at}: stats().${k}`, s, expected);
    }
  }
  checkStore(m, r, at);
  const errors = r.logLines.filter((l) => l.level === 'error');
  ensure(errors.length === 0, `${at}: errors logged`, errors);
}

// --- commands --------------------------------------------------------------

export type DurableCommand = fc.AsyncCommand<DurableModel, DurableWorld>;

abstract class Step implements DurableCommand {
  abstract check(m: Readonly<DurableModel>): boolean;
  protected abstract apply(m: DurableModel, r: DurableWorld): void | Promise<void>;
  abstract toString(): string;

  async run(m: DurableModel, r: DurableWorld): Promise<void> {
    await this.apply(m, r);
    await settled();
    checkInvariants(m, r, this.toString());
  }
}

type Key = 'a' | 'b' | 'c' | undefined;
const keyName = (key: Key) => key ?? 'default';

/** What one durable task is: its key, its handler, and whether the remote refuses its data. */
export interface TaskSpec {
  key: Key;
  handler: Handler;
  bad: boolean;
}

const describeSpec = (t: TaskSpec) =>
  `${keyName(t.key)}${t.handler === 'writeMany' ? '*' : ''}${t.bad ? '!' : ''}`;

function enqueueDurable(m: DurableModel, r: DurableWorld, spec: TaskSpec): void {
  const seq = m.acceptDurable(keyName(spec.key), r.clock.now(), spec.handler, spec.bad);
  const payload: Payload = spec.bad ? { seq, bad: true } : { seq };
  const accepted = r.worker.enqueue({
    handler: spec.handler,
    payload,
    ...(spec.key === undefined ? {} : { key: spec.key }),
  });
  ensure(accepted, `enqueue() of d${seq} returned false before shutdown`);
}

/** `flush()` resolves without time passing (the memory store commits at once). */
async function flushNow(r: DurableWorld, label: string): Promise<void> {
  const flushed = r.worker.flush().then(() => 'flushed' as const);
  const outcome = await Promise.race([flushed, settled().then(() => 'pending' as const)]);
  ensure(outcome === 'flushed', `${label}: flush() did not resolve`);
}

/**
 * Enqueues one durable task (payload: its sequence number) with a key, or the
 * default key; printed as its key, `*` for the batch handler, `!` for bad data.
 */
export class EnqueueDurable extends Step {
  readonly spec: TaskSpec;
  constructor(key: Key, handler: Handler = 'write', bad = false) {
    super();
    this.spec = { key, handler, bad };
  }
  check() {
    return true;
  }
  apply(m: DurableModel, r: DurableWorld) {
    enqueueDurable(m, r, this.spec);
    const backlog = r.worker.stats().backlog;
    ensure(backlog === m.pendingCount, `${this}: stats().backlog at once`, backlog, m.pendingCount);
  }
  toString() {
    return `enqueue(${describeSpec(this.spec)})`;
  }
}

/**
 * Enqueues `maxQueue + extra` durable tasks in one synchronous burst, keys in
 * turn: more than memory holds, so some stay only in the store. With `flush`,
 * awaits `flush()` and checks at once that each of them is kept.
 */
export class Burst extends Step {
  constructor(
    readonly extra: number,
    readonly tasks: readonly TaskSpec[],
    readonly flush: boolean,
  ) {
    super();
  }
  check() {
    return true;
  }
  async apply(m: DurableModel, r: DurableWorld) {
    const count = m.params.maxQueue + this.extra;
    for (let i = 0; i < count; i++) {
      enqueueDurable(m, r, this.tasks[i % this.tasks.length] as TaskSpec);
    }
    const backlog = r.worker.stats().backlog;
    ensure(backlog === m.pendingCount, `${this}: stats().backlog at once`, backlog, m.pendingCount);
    if (!this.flush) return;
    await flushNow(r, this.toString());
    const at = `${this}, once flush() resolved`;
    consume(m, r, at);
    checkStore(m, r, at);
    const replaying = JSON.stringify(r.worker.actor.system.get('backlog')?.getSnapshot().value);
    if (replaying?.includes('replaying')) m.coverage.spills++;
  }
  toString() {
    return `burst(maxQueue+${this.extra} × ${this.tasks.map(describeSpec).join('/')}${this.flush ? ', flush' : ''})`;
  }
}

export class EnqueueClosure extends Step {
  constructor(readonly body: ClosureBody) {
    super();
  }
  check() {
    return true;
  }
  apply(m: DurableModel, r: DurableWorld) {
    const { id, accepted } = m.acceptClosure(this.body);
    const returned = r.worker.enqueue(closureTask(r, id, this.body));
    ensure(returned === accepted, `${this}: enqueue() of c${id}`, returned, accepted);
  }
  toString() {
    return `closure(${this.body})`;
  }
}

/** Scripts the remote's next answers (after these, runs are held until settled). */
export class Answer extends Step {
  constructor(readonly answers: readonly DurableAnswer[]) {
    super();
  }
  check() {
    return true;
  }
  apply(m: DurableModel, r: DurableWorld) {
    m.answers.push(...this.answers);
    r.answers.push(...this.answers);
  }
  toString() {
    return `answer(${this.answers.join(',')})`;
  }
}

/**
 * The `pick`-th held run in flight (modulo how many, oldest first) gets its
 * answer (a closure task: `ok` resolves, else rejects).
 */
export class Settle extends Step {
  constructor(
    readonly outcome: Outcome,
    readonly pick = 0,
  ) {
    super();
  }
  check(m: Readonly<DurableModel>) {
    return m.settleable().length > 0;
  }
  apply(m: DurableModel) {
    const held = m.settleable();
    held[this.pick % held.length]?.settle?.(this.outcome);
  }
  toString() {
    return `settle(${this.outcome}${this.pick === 0 ? '' : `, #${this.pick}`})`;
  }
}

/** A held run the worker gave up on (timeout, shutdown) answers now: nothing may change. */
export class SettleLate extends Step {
  constructor(readonly ok: boolean) {
    super();
  }
  check(m: Readonly<DurableModel>) {
    return m.abandonedHeld.length > 0;
  }
  apply(m: DurableModel) {
    m.abandonedHeld.shift()?.settle?.(this.ok ? 'ok' : 'retryable');
  }
  toString() {
    return `settleLate(${this.ok ? 'ok' : 'error'})`;
  }
}

/** Steps the clock to `target` through every timer on the way, checking at each. */
async function stepTo(m: DurableModel, r: DurableWorld, target: number, label: string) {
  for (let steps = 0; ; steps++) {
    const next = r.clock.nextDue();
    if (next === undefined || next > target) break;
    ensure(steps < 10_000, `${label}: timers keep falling due at ${next} ms`);
    r.clock.moveTo(next);
    await settled();
    checkInvariants(m, r, `${label}, at ${r.clock.now()} ms`);
  }
  r.clock.moveTo(target);
}

export class Advance extends Step {
  constructor(readonly ms: number) {
    super();
  }
  check() {
    return true;
  }
  apply(m: DurableModel, r: DurableWorld) {
    return stepTo(m, r, r.clock.now() + this.ms, this.toString());
  }
  toString() {
    return `advance(${this.ms} ms)`;
  }
}

/** Someone reports `failureThreshold` failures to the worker's breaker. */
export class Trip extends Step {
  check() {
    return true;
  }
  apply(m: DurableModel, r: DurableWorld) {
    for (let i = 0; i < m.params.failureThreshold; i++) r.worker.breaker?.recordFailure();
  }
  toString() {
    return 'trip';
  }
}

export class Reset extends Step {
  check() {
    return true;
  }
  apply(_m: DurableModel, r: DurableWorld) {
    r.worker.breaker?.reset();
  }
  toString() {
    return 'reset';
  }
}

export class Flush extends Step {
  check() {
    return true;
  }
  apply(_m: DurableModel, r: DurableWorld) {
    return flushNow(r, this.toString());
  }
  toString() {
    return 'flush';
  }
}

/**
 * `shutdown({ timeoutMs })`, stepping time until it resolves (the worker
 * drains until the deadline; a run still going then is aborted and kept),
 * checking that the worker refuses new tasks from the call on.
 */
async function shutDown(
  m: DurableModel,
  r: DurableWorld,
  timeoutMs: number,
  label: string,
): Promise<void> {
  let resolved = false;
  m.shutdownStarted(r.clock.now(), timeoutMs);
  const done = r.worker.shutdown({ timeoutMs }).then(() => {
    resolved = true;
  });
  refuseAfterShutdown(m, r, `${label} (shutdown called)`);
  await settled();
  checkInvariants(m, r, `${label} (shutdown called)`);
  // shutdown() resolves exactly when the lifecycle releases the worker.
  const resolvedWhenReleased = (where: string) =>
    ensure(resolved === m.finished, `${where}: shutdown() resolved`, resolved, m.finished);
  resolvedWhenReleased(`${label} (shutdown called)`);
  for (let steps = 0; !resolved; steps++) {
    const next = r.clock.nextDue();
    ensure(next !== undefined && steps < 1_000, `${label}: shutdown() never resolved`);
    r.clock.moveTo(next as number);
    await settled();
    const where = `${label} (shutting down), at ${r.clock.now()} ms`;
    checkInvariants(m, r, where);
    resolvedWhenReleased(where);
  }
  await done;
  try {
    m.shutdownFinished(r.clock.now());
  } catch (error) {
    throw new Error(`${label}, once shutdown() resolved: ${(error as Error).message}`);
  }
  refuseAfterShutdown(m, r, `${label} (shut down)`);
  consume(m, r, label);
}

/** Once `shutdown()` is called, `enqueue` returns false: a durable task gets `taskFailed`, a closure task `onFailure`. */
function refuseAfterShutdown(m: DurableModel, r: DurableWorld, label: string): void {
  m.expectRefusal();
  const durable = r.worker.enqueue({ handler: 'write', payload: { seq: -1 }, key: 'a' });
  ensure(!durable, `${label}: a worker shutting down accepted a durable task`);
  const { id, accepted } = m.acceptClosure('sync');
  const closure = r.worker.enqueue(closureTask(r, id, 'sync'));
  ensure(!accepted && !closure, `${label}: a worker shutting down accepted a closure task`);
}

/** Restarts: shuts the worker down, then a new worker opens the same backlog and goes on. */
export class Restart extends Step {
  constructor(readonly timeoutMs: number) {
    super();
  }
  check() {
    return true;
  }
  async apply(m: DurableModel, r: DurableWorld) {
    await shutDown(m, r, this.timeoutMs, this.toString());
    r.gen++;
    r.inFlight.clear(); // the old worker's runs are over for it (aborted at its deadline)
    m.restarted();
    r.worker = startWorker(r);
  }
  toString() {
    return `restart(shutdown ${this.timeoutMs} ms)`;
  }
}

// --- arbitraries -----------------------------------------------------------

const key = fc.constantFrom<Key>('a', 'b', 'c', undefined);
const handler = fc.constantFrom<Handler>('write', 'writeMany', 'writeMany');
/** One task in eight is of bad data. */
const bad = fc.integer({ min: 0, max: 7 }).map((n) => n === 0);
const taskSpec: fc.Arbitrary<TaskSpec> = fc.record({ key, handler, bad });
const answer = fc.oneof(
  { weight: 4, arbitrary: fc.constant<DurableAnswer>('ok') },
  { weight: 2, arbitrary: fc.constant<DurableAnswer>('retryable') },
  { weight: 1, arbitrary: fc.constant<DurableAnswer>('fatal') },
  { weight: 1, arbitrary: fc.constant<DurableAnswer>('hang') },
);
const outcome = fc.constantFrom<Outcome>('ok', 'ok', 'retryable', 'fatal');

/** Repeats an arbitrary: fc.commands picks uniformly among its entries, so this is a weight. */
const weight = <T>(n: number, arbitrary: fc.Arbitrary<T>) =>
  Array.from({ length: n }, () => arbitrary);

/** The command arbitraries, weighted. */
export const DURABLE_COMMANDS: fc.Arbitrary<DurableCommand>[] = [
  ...weight(
    4,
    taskSpec.map((t) => new EnqueueDurable(t.key, t.handler, t.bad)),
  ),
  ...weight(
    2,
    fc
      .tuple(
        fc.integer({ min: 1, max: 4 }),
        fc.array(taskSpec, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
      )
      .map(([extra, tasks, flush]) => new Burst(extra, tasks, flush)),
  ),
  ...weight(
    2,
    fc.constantFrom<ClosureBody>('sync', 'throw', 'held').map((b) => new EnqueueClosure(b)),
  ),
  ...weight(
    3,
    fc.array(answer, { minLength: 1, maxLength: 4 }).map((a) => new Answer(a)),
  ),
  ...weight(
    3,
    fc
      .tuple(outcome, fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 })))
      .map(([o, pick]) => new Settle(o, pick)),
  ),
  fc.boolean().map((ok) => new SettleLate(ok)),
  ...weight(
    3,
    fc.integer({ min: 1, max: 150 }).map((n) => new Advance(n * DURABLE_TIMING.tick)),
  ),
  fc.constant(new Trip()),
  fc.constant(new Reset()),
  fc.constant(new Flush()),
  fc.constantFrom(...DURABLE_TIMING.shutdownMs).map((ms) => new Restart(ms)),
];

/** The per-run settings. */
export const DURABLE_PARAMS: fc.Arbitrary<DurableParams> = fc.record({
  maxQueue: fc.integer({ min: 1, max: 3 }),
  failureThreshold: fc.integer({ min: 1, max: 3 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  jitterSeed: fc.integer({ min: 0, max: 0xffff_ffff }),
  concurrency: fc.constantFrom(1, 2, 3),
  batchSize: fc.constantFrom(1, 2, 3, 4),
});

/**
 * Ends every story: the remote recovers, time passes until every accepted
 * task has its fate (held runs answered `ok`, hung ones timed out and
 * retried, the breaker probed closed), then the worker shuts down and every
 * abandoned held run answers late, which must change nothing. Afterwards each
 * durable task is delivered (one `taskSucceeded`, one acknowledged write, any
 * other write a late one) or dead (one `onDeadLetter`, one `taskFailed`, no
 * acknowledged write), and each closure task has exactly one fate.
 */
export async function endOfStory(m: DurableModel, r: DurableWorld): Promise<void> {
  m.heal();
  r.answers = [];
  r.defaultAnswer = 'ok';
  for (let steps = 0; ; steps++) {
    ensure(steps < 10_000, 'the final drain did not end');
    const held = m.settleable()[0];
    if (held !== undefined) {
      held.settle?.('ok');
      await settled();
      checkInvariants(m, r, 'final drain: settle(ok)');
      continue;
    }
    if (m.pendingCount === 0 && m.runCount === 0 && m.stats().queued === 0) break;
    const next = r.clock.nextDue();
    ensure(next !== undefined, `the final drain stalled with ${m.pendingCount} task(s) pending`);
    r.clock.moveTo(next as number);
    await settled();
    checkInvariants(m, r, `final drain, at ${r.clock.now()} ms`);
  }
  await shutDown(m, r, DURABLE_TIMING.shutdownMs[0], 'final shutdown');
  while (m.abandonedHeld.length > 0) {
    const late = m.abandonedHeld.length % 2 === 0;
    await new SettleLate(late).run(m, r);
  }
  for (const t of m.durable) {
    const label = `at the end, d${t.seq} (key ${t.key})`;
    const late = t.remoteOk - t.acknowledgedOk;
    ensure(
      !t.bad || t.state === 'dead',
      `${label}: a task of bad data ends in the dead letters`,
      t,
    );
    if (t.remoteOk > 1) m.coverage.duplicates++;
    if (t.remoteOk > 1 && t.lateOkAfterShutdown > 0) m.coverage.duplicatesAcrossRestart++;
    if (t.state === 'delivered') {
      ensure(
        t.succeededEvents === 1 && t.deadLetterCalls === 0 && t.failedEvents === 0,
        `${label}: delivered, so exactly one taskSucceeded`,
        t,
      );
      ensure(t.acknowledgedOk === 1 && late >= 0, `${label}: one acknowledged write`, t);
    } else {
      ensure(
        t.state === 'dead' &&
          t.deadLetterCalls === 1 &&
          t.failedEvents === 1 &&
          t.succeededEvents === 0 &&
          t.acknowledgedOk === 0,
        `${label}: after a healthy drain every accepted task is delivered or dead-lettered, with one fate`,
        t,
      );
    }
  }
  for (const c of m.closures) {
    ensure(c.fates === 1, `at the end, closure c${c.id} has ${c.fates} fates`);
  }
  ensure(r.backlog.stats().pending === 0, 'at the end, the backlog still holds tasks');
  m.coverage.runs++;
}
