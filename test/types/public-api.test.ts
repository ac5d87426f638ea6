/**
 * Type tests of the public API. `npm run typecheck` (tsc over test/) is what
 * checks them: an `expectTypeOf` that does not hold, or a `@ts-expect-error`
 * line that compiles, fails it. Under vitest they also run, with the runtime
 * checks that back each compile-time one.
 */
import { Console } from 'node:console';
import { PassThrough } from 'node:stream';
import bunyan from 'bunyan';
import pino from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import winston from 'winston';
import {
  type DurableBatchContext,
  type DurableContext,
  type JsonCompatible,
  type Logger,
  memoryBacklog,
  type NotPlainJson,
  SyncWorker,
  type SyncWorkerEvents,
} from '../../src/index.js';

/** A payload declared as an interface: it has no index signature, unlike `JsonValue`'s objects. */
interface Message {
  text: string;
  sentAt?: number;
  tags: readonly string[];
}

const message: Message = { text: 'hi', tags: ['greeting'] };

function typedWorker() {
  return new SyncWorker({
    backlog: memoryBacklog(),
    handlers: {
      'memory.addMessage': async (payload: Message, context) => {
        expectTypeOf(context).toEqualTypeOf<DurableContext>();
        return payload.text;
      },
      'memory.addMessages': {
        batch: { maxSize: 10 },
        // Written out: TypeScript cannot tell a batch handler from { run } by its batch field.
        run: async (messages: Message[], context: DurableBatchContext) => {
          expectTypeOf(context.ids).toEqualTypeOf<readonly string[]>();
          return messages.length;
        },
      },
      'counter.add': { run: (by: number) => by },
      untyped: (payload) => payload,
    },
  });
}

describe('typed handlers: enqueue checks the handler name and the payload type', () => {
  it('accepts the payloads each handler declares, interfaces included', async () => {
    const worker = typedWorker();
    expect(worker.enqueue({ handler: 'memory.addMessage', payload: message, key: 's' })).toBe(true);
    expect(worker.enqueue({ handler: 'memory.addMessages', payload: message })).toBe(true);
    expect(worker.enqueue({ handler: 'counter.add', payload: 2, id: 'c-1' })).toBe(true);
    // A handler whose payload has no type takes any plain JSON.
    expect(worker.enqueue({ handler: 'untyped', payload: { any: ['json', 1, null] } })).toBe(true);
    await worker.shutdown();
  });

  it('refuses a misspelt handler name and a payload of another type', async () => {
    const worker = typedWorker();
    // @ts-expect-error no handler has this name
    expect(() => worker.enqueue({ handler: 'memory.addMesage', payload: message })).toThrow(
      /did you mean "memory.addMessage"/,
    );
    // @ts-expect-error the handler takes a Message
    worker.enqueue({ handler: 'memory.addMessage', payload: { txt: 'hi', tags: [] } });
    // @ts-expect-error a batch handler takes one Message per task, not an array
    worker.enqueue({ handler: 'memory.addMessages', payload: [message] });
    // @ts-expect-error { run } takes a number
    worker.enqueue({ handler: 'counter.add', payload: '2' });
    await worker.shutdown();
  });

  it('refuses payloads that are not plain JSON, also for an untyped handler', async () => {
    const worker = typedWorker();
    // @ts-expect-error a Date is not plain JSON
    expect(() => worker.enqueue({ handler: 'untyped', payload: { at: new Date() } })).toThrow(
      /payload\.at must be plain JSON data, got a Date/,
    );
    // @ts-expect-error a function is not plain JSON
    expect(() => worker.enqueue({ handler: 'untyped', payload: () => 1 })).toThrow(TypeError);
    await worker.shutdown();
  });

  it('a typed worker is still a SyncWorker', async () => {
    const worker: SyncWorker = typedWorker();
    const take = (w: SyncWorker) => w.stats().state;
    expect(take(worker)).toBe('idle');
    await worker.shutdown();
  });
});

describe('untyped handlers (a Record of them, or JavaScript)', () => {
  it('take any handler name and any plain JSON payload, interfaces included', async () => {
    const handlers: Record<string, (payload: unknown) => void> = { write: () => {} };
    const worker = new SyncWorker({ backlog: memoryBacklog(), handlers });
    expect(worker.enqueue({ handler: 'write', payload: message })).toBe(true);
    // Known only at run time: the compiler lets it through, enqueue refuses it.
    expect(() => worker.enqueue({ handler: 'other', payload: 1 })).toThrow(/unknown handler/);
    // @ts-expect-error still not plain JSON
    expect(() => worker.enqueue({ handler: 'write', payload: new Map() })).toThrow(TypeError);
    await worker.shutdown();
  });
});

describe('closure tasks and events', () => {
  it('onSuccess receives what run resolves to', async () => {
    const worker = new SyncWorker();
    let seen = 0;
    worker.enqueue({
      run: async () => 42,
      onSuccess: (value) => {
        expectTypeOf(value).toEqualTypeOf<number>();
        seen = value;
      },
    });
    await worker.onIdle();
    expect(seen).toBe(42);
    await worker.shutdown();
  });

  it('failed and timed-out runs carry durationMs', () => {
    expectTypeOf<SyncWorkerEvents['taskSucceeded']['durationMs']>().toEqualTypeOf<number>();
    expectTypeOf<SyncWorkerEvents['taskFailed']['durationMs']>().toEqualTypeOf<
      number | undefined
    >();
    expectTypeOf<SyncWorkerEvents['taskTimedOut']['durationMs']>().toEqualTypeOf<number>();
    expect(new SyncWorker().on('taskFailed', () => {})).toBeTypeOf('function');
  });
});

describe('options', () => {
  it('a misspelt option, or a clock inside the breaker options, does not compile', () => {
    // @ts-expect-error maxQueu is not an option
    expect(() => new SyncWorker({ maxQueu: 8 })).toThrow(/did you mean "maxQueue"/);
    // @ts-expect-error the breaker a worker builds runs on the worker's clock
    expect(() => new SyncWorker({ breaker: { clock: console } })).toThrow(/does nothing here/);
    // @ts-expect-error memoryBacklog takes no options
    expect(() => memoryBacklog({ path: './x' })).toThrow(/takes no options/);
  });

  it('console, pino, winston and bunyan are Loggers', () => {
    const stream = new PassThrough();
    const loggers: Logger[] = [
      new Console(stream),
      pino(stream),
      winston.createLogger({ transports: [new winston.transports.Stream({ stream })] }),
      bunyan.createLogger({ name: 'app', streams: [{ stream }] }),
    ];
    expect(loggers).toHaveLength(4);
  });
});

describe('JsonCompatible', () => {
  it('keeps plain JSON types and marks what is not', () => {
    expectTypeOf<JsonCompatible<Message>>().toEqualTypeOf<{
      text: string;
      sentAt?: number;
      tags: readonly string[];
    }>();
    expectTypeOf<JsonCompatible<{ at: Date }>['at']['getTime']>().toEqualTypeOf<NotPlainJson>();
    expectTypeOf<JsonCompatible<{ f: () => void }>>().toEqualTypeOf<{ f: NotPlainJson }>();
    expectTypeOf<JsonCompatible<unknown>>().toEqualTypeOf<unknown>();
    expect(true).toBe(true);
  });
});
