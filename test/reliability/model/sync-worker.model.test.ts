/**
 * Model-based property test: random command sequences (fc.commands) run
 * against the model in ./worker-model.ts and a real SyncWorker, with every
 * invariant checked after every command (see ./commands.ts).
 *
 * Each run draws `concurrency` from 1, 2 and 3 and gives its closure tasks
 * keys from a small set (a, b, c, or none), so a run may have more keys ready
 * than free slots, or all of them running at once, or, with keyless tasks
 * only, stay serial whatever `concurrency` says.
 *
 * Fixed seed and 1,000 runs by default; `FC_RUNS=100000 npm run test:property`
 * searches longer, `FC_SEED=…` tries another seed. A failure prints the seed,
 * the replay path and the shrunk command list, e.g.
 * `[2,1,3,[enqueue(controlled, key a),trip,advance(510 ms),…]]` (maxQueue,
 * threshold, concurrency, commands).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, createWorld, Enqueue, endOfStory, Trip } from './commands.js';

const RUNS = Number(process.env.FC_RUNS ?? 1_000);
const SEED = Number(process.env.FC_SEED ?? 20_261_124);

/** How often the interesting things happened, summed over runs. */
const coverage = { runsWithTwoInFlight: 0, runsAtFullConcurrency: 0, keyChoices: 0, drops: 0 };

const property = fc.asyncProperty(
  fc.integer({ min: 1, max: 4 }), // maxQueue
  fc.integer({ min: 1, max: 3 }), // failureThreshold
  fc.constantFrom(1, 2, 3), // concurrency
  fc.commands(COMMANDS, { maxCommands: 50, size: 'medium' }),
  async (maxQueue, failureThreshold, concurrency, commands) => {
    const { model, real } = createWorld(maxQueue, failureThreshold, concurrency);
    await fc.asyncModelRun(() => ({ model, real }), commands);
    await endOfStory(model, real);
    if (model.peakRunning >= 2) coverage.runsWithTwoInFlight++;
    if (concurrency > 1 && model.peakRunning === concurrency) coverage.runsAtFullConcurrency++;
    coverage.keyChoices += model.choicesMade;
    coverage.drops += model.dropped;
  },
);

describe('SyncWorker against its model (fc.commands)', () => {
  it(
    `keeps every invariant after every command (${RUNS} runs, seed ${SEED})`,
    async () => {
      await fc.assert(property, { seed: SEED, numRuns: RUNS });
      console.log(`closure model coverage over ${RUNS} runs: ${JSON.stringify(coverage)}`);
      if (RUNS >= 1_000) {
        // The generators still reach what the invariants are about.
        for (const [what, count] of Object.entries(coverage)) {
          expect(count, `${what} seen`).toBeGreaterThan(0);
        }
      }
    },
    // A bound for slow machines and long searches, not a timing assertion.
    Math.max(60_000, RUNS * 50),
  );

  it('the harness catches a worker that breaks an invariant', async () => {
    // A control: the same checks fail when the real worker does something the
    // model does not (here a task is enqueued behind the model's back).
    const { model, real } = createWorld(2, 1, 1);
    await new Enqueue({ kind: 'sync' }, undefined).run(model, real);
    real.worker.enqueue({ run: () => 'unmodelled' });
    await expect(new Trip().run(model, real)).rejects.toThrow(/stats\(\)|started tasks|fates/);
  });
});
