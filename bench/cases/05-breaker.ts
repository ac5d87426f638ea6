/**
 * 3. Breaker overhead around an async no-op, against cockatiel and opossum:
 * the closed path (no slower than cockatiel), the open-path rejection (at
 * least 8× faster than cockatiel), and the worker's synchronous refusal.
 */
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import { BreakerOpenError, CircuitBreaker, SyncWorker } from '../../src/index.js';
import { quick, runCase, type Subject } from '../lib/harness.js';

/** Awaited calls per sample. */
const N = 1000;
/** Synchronous enqueues per sample. */
const M = 4096;
/** Long enough that no breaker half-opens while the case runs. */
const LONG_MS = 600_000;

const options = quick
  ? { warmup: 20, rounds: 2, samplesPerRound: 10, minRoundMs: 30 }
  : { warmup: 200, warmupMs: 1000, rounds: 4, samplesPerRound: 20, minRoundMs: 300 };

let calls = 0;
const noop = async () => {
  calls++;
};
const failing = async () => {
  throw new Error('remote down');
};

/** A subject that awaits `call()` N times per sample. */
function awaited(
  name: string,
  role: Subject['role'],
  note: string,
  call: () => Promise<unknown>,
): Subject {
  return {
    name,
    role,
    note,
    async sample() {
      const t0 = performance.now();
      for (let k = 0; k < N; k++) await call();
      const t1 = performance.now();
      return ((t1 - t0) * 1e6) / N;
    },
  };
}

/** A subject that awaits `call()` N times per sample, catching each rejection and counting the expected ones. */
function rejected(
  name: string,
  note: string,
  call: () => Promise<unknown>,
  expected: (error: unknown) => boolean,
  tally: { rejected: number; wrong: number; calls: number },
  role: Subject['role'],
): Subject {
  return {
    name,
    role,
    note,
    async sample() {
      const t0 = performance.now();
      for (let k = 0; k < N; k++) {
        try {
          await call();
        } catch (error) {
          if (expected(error)) tally.rejected++;
          else tally.wrong++;
        }
      }
      const t1 = performance.now();
      tally.calls += N;
      return ((t1 - t0) * 1e6) / N;
    },
  };
}

await runCase({ id: 'breaker', title: '3. Circuit breaker overhead' }, async (ctx) => {
  // --- closed -------------------------------------------------------------
  const mine = new CircuitBreaker();
  const cockatiel = circuitBreaker(handleAll, {
    halfOpenAfter: 60_000,
    breaker: new ConsecutiveBreaker(3),
  });
  const opossum = new OpossumBreaker(noop);
  const opossumNoTimeout = new OpossumBreaker(noop, { timeout: false });
  calls = 0;
  await ctx.compare(
    {
      id: 'closed',
      title: 'Closed: await breaker.execute(asyncNoop)',
      unit: 'ns/op',
      quantity: 'time',
      note: `Each sample awaits ${N} calls in sequence.`,
    },
    [
      awaited(
        'CircuitBreaker.execute',
        'subject',
        'new CircuitBreaker() (defaults: failureThreshold 3), standalone with its own actor',
        () => mine.execute(noop),
      ),
      awaited(
        'cockatiel',
        'peer',
        'circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(3) }).execute(fn)',
        () => cockatiel.execute(noop),
      ),
      awaited(
        'opossum',
        'peer',
        'new CircuitBreaker(fn).fire(): defaults, so each call also arms and clears its 10 s timeout timer',
        () => opossum.fire(),
      ),
      awaited(
        'opossum, timeout: false',
        'peer',
        'new CircuitBreaker(fn, { timeout: false }).fire(): without the per-call timer',
        () => opossumNoTimeout.fire(),
      ),
      awaited('await fn()', 'baseline', 'the async no-op awaited with no breaker', noop),
    ],
    options,
  );
  ctx.check('closed: every call ran', calls > 0 && mine.state === 'closed', `${calls} calls ran`);
  ctx.target(
    '3-closed',
    '3. breaker closed path no slower than cockatiel',
    ctx.median('closed', 'CircuitBreaker.execute') / ctx.median('closed', 'cockatiel'),
    '<=',
    1,
  );
  mine.dispose();
  opossum.shutdown();
  opossumNoTimeout.shutdown();

  // --- open: rejection ------------------------------------------------------
  const tripped = new CircuitBreaker({ probeIntervalMs: LONG_MS });
  for (let k = 0; k < 3; k++) tripped.recordFailure();
  const cockatielOpen = circuitBreaker(handleAll, {
    halfOpenAfter: LONG_MS,
    breaker: new ConsecutiveBreaker(3),
  });
  for (let k = 0; k < 3; k++) await cockatielOpen.execute(failing).catch(() => {});
  const opossumOpen = new OpossumBreaker(noop, { resetTimeout: LONG_MS });
  opossumOpen.open();
  const tallies = {
    mine: { rejected: 0, wrong: 0, calls: 0 },
    cockatiel: { rejected: 0, wrong: 0, calls: 0 },
    opossum: { rejected: 0, wrong: 0, calls: 0 },
  };
  ctx.check(
    'open: every breaker is open before measuring',
    tripped.isOpen && cockatielOpen.state === CircuitState.Open && opossumOpen.opened,
  );
  calls = 0;
  await ctx.compare(
    {
      id: 'open',
      title: 'Open: rejection, awaited and caught',
      unit: 'ns/op',
      quantity: 'time',
      note: `Each breaker is tripped first. Each sample awaits ${N} calls in sequence in try/catch, and checks the error's type.`,
    },
    [
      rejected(
        'CircuitBreaker.execute',
        `new CircuitBreaker({ probeIntervalMs: ${LONG_MS} }) after 3 recordFailure(); rejects with a BreakerOpenError built without a stack`,
        () => tripped.execute(noop),
        (e) => e instanceof BreakerOpenError,
        tallies.mine,
        'subject',
      ),
      rejected(
        'cockatiel',
        `as above with halfOpenAfter ${LONG_MS}, after 3 failed calls; rejects with a BrokenCircuitError (a new Error with a stack)`,
        () => cockatielOpen.execute(noop),
        (e) => e instanceof BrokenCircuitError,
        tallies.cockatiel,
        'peer',
      ),
      rejected(
        'opossum',
        `new CircuitBreaker(fn, { resetTimeout: ${LONG_MS} }) after open(); rejects with an EOPENBREAKER Error (with a stack)`,
        () => opossumOpen.fire(),
        (e) => (e as { code?: string }).code === 'EOPENBREAKER',
        tallies.opossum,
        'peer',
      ),
    ],
    options,
  );
  for (const [name, t] of Object.entries(tallies)) {
    ctx.check(
      `open: ${name} rejected every call with its breaker-open error`,
      t.calls > 0 && t.rejected === t.calls && t.wrong === 0,
      `${t.rejected} of ${t.calls}, ${t.wrong} other errors`,
    );
  }
  ctx.check('open: no call ran while open', calls === 0, `${calls} ran`);
  ctx.target(
    '3-open',
    '3. breaker open-path rejection ≥ 8× faster than cockatiel',
    ctx.median('open', 'cockatiel') / ctx.median('open', 'CircuitBreaker.execute'),
    '>=',
    8,
  );
  tripped.dispose();
  opossumOpen.shutdown();

  // --- the worker's refusal ---------------------------------------------------
  const worker = new SyncWorker({ breaker: { probeIntervalMs: LONG_MS } });
  for (let k = 0; k < 3; k++) worker.breaker?.recordFailure();
  let refusedCalls = 0;
  let falseReturns = 0;
  let enqueued = 0;
  const task = {
    run: () => {},
    onFailure: () => {
      refusedCalls++;
    },
  };
  await ctx.compare(
    {
      id: 'refusal',
      title: "The worker's refusal: enqueue while its breaker is open",
      unit: 'ns/op',
      quantity: 'time',
      note: `Synchronous: enqueue returns false and calls the task's onFailure (a counter) with its own BreakerOpenError. Each sample times ${M} enqueues.`,
    },
    [
      {
        name: 'SyncWorker.enqueue (refused)',
        role: 'subject',
        note: `new SyncWorker({ breaker: { probeIntervalMs: ${LONG_MS} } }) after 3 breaker.recordFailure()`,
        sample() {
          const t0 = performance.now();
          for (let k = 0; k < M; k++) if (!worker.enqueue(task)) falseReturns++;
          const t1 = performance.now();
          enqueued += M;
          return ((t1 - t0) * 1e6) / M;
        },
      },
    ],
    options,
  );
  const errors: Error[] = [];
  worker.enqueue({ run: () => {}, onFailure: (e) => errors.push(e) });
  worker.enqueue({ run: () => {}, onFailure: (e) => errors.push(e) });
  ctx.check(
    'refusal: every enqueue returned false and called onFailure once, each with its own BreakerOpenError',
    enqueued > 0 &&
      refusedCalls === enqueued &&
      falseReturns === enqueued &&
      errors.length === 2 &&
      errors[0] !== errors[1] &&
      errors.every((e) => e instanceof BreakerOpenError),
    `${refusedCalls} onFailure calls and ${falseReturns} false returns for ${enqueued} enqueues`,
  );
  await worker.shutdown();
});
