import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClosureTask, taskKind, validateTask } from '../src/taskValidation.js';

/** What enqueue's full checks say of `task`: a closure task they accept, or not. */
function acceptedAsClosure(task: unknown): boolean {
  try {
    if (taskKind(task) !== 'closure') return false;
    validateTask(task);
    return true;
  } catch {
    return false;
  }
}

const fieldValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(() => {}),
  fc.string({ maxLength: 3 }),
  fc.constantFrom('', 'k'.repeat(256), 'k'.repeat(257)),
  fc.integer(),
  fc.boolean(),
  fc.object({ maxDepth: 0 }),
);

/** A field usually right (`good`), so that most tasks fail one check at a time or none. */
const mostly = (good: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: fieldValue });

describe('isClosureTask, the hot path of enqueue', () => {
  it('accepts exactly the closure tasks that taskKind and validateTask accept (property)', () => {
    const taskArb = fc.oneof(
      fc.record(
        {
          run: mostly(fc.constant(() => {})),
          handler: mostly(fc.constant(undefined)),
          name: mostly(fc.string({ maxLength: 3 })),
          onSuccess: mostly(fc.constant(() => {})),
          onFailure: mostly(fc.constant(() => {})),
          key: fc.oneof(
            mostly(fc.constant(undefined)),
            fc.constantFrom('', 'k'.repeat(256), 'k'.repeat(257)),
          ),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    );
    fc.assert(
      fc.property(taskArb, (task) => {
        expect(isClosureTask(task)).toBe(acceptedAsClosure(task));
      }),
      { seed: 20261202, numRuns: 5_000 },
    );
  });

  it('refuses a function carrying run(): a task must be an object', () => {
    const fn = Object.assign(() => {}, { run() {} });
    expect(isClosureTask(fn)).toBe(false);
    expect(acceptedAsClosure(fn)).toBe(false);
  });
});
