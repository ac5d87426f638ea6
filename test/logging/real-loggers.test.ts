/**
 * The library's log lines through the real loggers users pass: Node's
 * console, pino, winston and bunyan, each writing to a stream the test reads.
 * Each must keep the library's message, the error's message and its stack.
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import bunyan from 'bunyan';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { CircuitBreaker, type Logger, SyncWorker } from '../../src/index.js';

/** A stream that keeps what is written, and tells a waiter when the first line has arrived. */
function captured() {
  let text = '';
  let arrived: () => void = () => {};
  const firstLine = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      if (text.includes('\n')) arrived();
      done();
    },
  });
  return {
    stream,
    /** Resolves with everything written so far once a whole line has been written. */
    async written(): Promise<string> {
      await firstLine;
      return text;
    },
  };
}

type Sink = ReturnType<typeof captured>;

/** Every string a line holds: a JSON line's string values (unescaped), or the line itself. */
function readable(out: string): string {
  const strings: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') strings.push(value);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  for (const line of out.split('\n')) {
    try {
      collect(JSON.parse(line));
    } catch {
      strings.push(line);
    }
  }
  return strings.join('\n');
}

const LOGGERS: [name: string, make: (sink: Sink) => Logger][] = [
  ['console', (sink) => new Console(sink.stream)],
  ['pino', (sink) => pino(sink.stream)],
  [
    'winston, with format.errors({ stack: true }) as the README says',
    (sink) =>
      winston.createLogger({
        format: winston.format.combine(
          winston.format.errors({ stack: true }),
          winston.format.json(),
        ),
        transports: [new winston.transports.Stream({ stream: sink.stream })],
      }),
  ],
  [
    'winston, default format',
    (sink) =>
      winston.createLogger({
        transports: [new winston.transports.Stream({ stream: sink.stream })],
      }),
  ],
  ['bunyan', (sink) => bunyan.createLogger({ name: 'app', streams: [{ stream: sink.stream }] })],
];

/** Named, so its frame in the stack proves the stack was kept. */
function failureCallbackBug(): never {
  throw new Error('the callback broke');
}

/** A worker whose one task fails and whose onFailure throws `thrown()`; resolves once it is idle. */
async function failingCallback(logger: Logger, thrown: () => never): Promise<void> {
  const worker = new SyncWorker({ logger });
  worker.enqueue({
    name: 'audit',
    run: () => Promise.reject(new Error('remote down')),
    onFailure: thrown,
  });
  await worker.onIdle();
  await worker.shutdown();
}

describe.each(LOGGERS)('logging through %s', (_name, make) => {
  it("keeps the library's message, the error's message and its stack", async () => {
    const sink = captured();
    await failingCallback(make(sink), failureCallbackBug);
    const out = readable(await sink.written());
    expect(out).toContain('SyncWorker: onFailure of task "audit" threw');
    expect(out).toContain('the callback broke');
    expect(out).toMatch(/\n\s+at .*failureCallbackBug/);
  });

  it('keeps a thrown value that is not an Error', async () => {
    const sink = captured();
    await failingCallback(make(sink), () => {
      throw 'a thrown string';
    });
    const out = readable(await sink.written());
    expect(out).toContain('SyncWorker: onFailure of task "audit" threw');
    expect(out).toContain('a thrown string');
  });

  it('writes a message with no error as it is', async () => {
    const sink = captured();
    const breaker = new CircuitBreaker({ failureThreshold: 1, logger: make(sink) });
    breaker.recordFailure();
    const out = readable(await sink.written());
    expect(out).toContain('circuit breaker: 1 consecutive failures → open');
    expect(out).not.toContain('undefined');
    breaker.dispose();
  });
});
