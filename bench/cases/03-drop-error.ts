/**
 * The per-drop error object: the library hands each dropped or refused task
 * its own error, built without a stack capture. This measures that choice
 * against `new Error()` with a stack, at a realistic stack depth.
 */

// Internal: how the worker builds its hot-path errors.
import { cheapErrors } from '../../src/errors/index.js';
import { QueueOverflowError } from '../../src/index.js';
import { atDepth, quick, runCase, type Subject } from '../lib/harness.js';

const N = 4096;
/** Frames between the benchmark loop and the error, so a stack capture has its 10 frames to walk. */
const DEPTH = 16;
const MESSAGE = 'sync queue overflow: oldest waiting task dropped';

function errorSubject(
  name: string,
  role: Subject['role'],
  note: string,
  make: () => Error,
  readStack: boolean,
): Subject {
  const sink: Error[] = new Array(64);
  let stackChars = 0;
  const loop = readStack
    ? () => {
        for (let k = 0; k < N; k++) {
          const error = make();
          stackChars += (error.stack as string).length;
          sink[k & 63] = error;
        }
      }
    : () => {
        for (let k = 0; k < N; k++) sink[k & 63] = make();
      };
  return {
    name,
    role,
    note,
    sample() {
      const t0 = performance.now();
      atDepth(DEPTH, loop);
      const t1 = performance.now();
      if (sink[0] === undefined || (readStack && stackChars === 0))
        throw new Error('no error made');
      return ((t1 - t0) * 1e6) / N;
    },
  };
}

const newOverflowError = cheapErrors(QueueOverflowError);
const cheap = () => newOverflowError(MESSAGE);
const withStack = () => new QueueOverflowError();
const plain = () => new Error(MESSAGE);
function noStackLimit(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = new QueueOverflowError();
  Error.stackTraceLimit = limit;
  return error;
}

function subjects(readStack: boolean): Subject[] {
  return [
    errorSubject(
      'cheapErrors(QueueOverflowError)',
      'subject',
      "what the worker gives each dropped task: a plain constructor on the class's prototype that sets the message; `stack` is a getter naming the cause",
      cheap,
      readStack,
    ),
    errorSubject(
      'new QueueOverflowError()',
      'baseline',
      `the same class built with new: captures a stack trace (Error.stackTraceLimit ${Error.stackTraceLimit}) ${DEPTH} frames below the loop`,
      withStack,
      readStack,
    ),
    errorSubject(
      'new Error(message)',
      'baseline',
      'a plain Error with a stack trace',
      plain,
      readStack,
    ),
    errorSubject(
      'new QueueOverflowError(), stackTraceLimit 0',
      'baseline',
      'the class built with new while Error.stackTraceLimit is 0 (set and restored around each error)',
      noStackLimit,
      readStack,
    ),
  ];
}

await runCase({ id: 'drop-error', title: '1c. The per-drop error object' }, async (ctx) => {
  const options = quick
    ? { warmup: 10, warmupMs: 50, rounds: 2, samplesPerRound: 3, minRoundMs: 20 }
    : { warmup: 100, warmupMs: 1000, rounds: 3, samplesPerRound: 10, minRoundMs: 250 };
  await ctx.compare(
    {
      id: 'create',
      title: 'Making one error',
      unit: 'ns/op',
      quantity: 'time',
      note: `Each sample makes ${N} errors in a loop, ${DEPTH} frames deep, and keeps the last 64 alive so none is optimised away.`,
    },
    subjects(false),
    options,
  );
  await ctx.compare(
    {
      id: 'create-and-read',
      title: 'Making one error and reading its stack once (as a logger would)',
      unit: 'ns/op',
      quantity: 'time',
      note: 'Reading `stack` formats a captured trace; the cheap error builds a one-line explanation instead.',
    },
    subjects(true),
    options,
  );
  const e = cheap();
  ctx.check(
    'a cheap error is a QueueOverflowError with a message and an explanatory stack',
    e instanceof QueueOverflowError &&
      e.message === MESSAGE &&
      (e.stack ?? '').includes('no call stack is captured'),
    (e.stack ?? '').split('\n')[1]?.trim(),
  );
});
