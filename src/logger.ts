/**
 * A console-compatible sink for what the library swallows: callback and
 * listener errors, state changes. The library writes one line per call, a
 * message and at most one error: `error(message, error)`. pino and bunyan
 * are recognised and called their own way, `error(error, message)` (see
 * {@link neverThrowing}), so every one of these keeps the error's message and stack.
 */
export interface Logger {
  debug?(message: string, ...details: unknown[]): void;
  info?(message: string, ...details: unknown[]): void;
  warn?(message: string, ...details: unknown[]): void;
  error?(message: string, ...details: unknown[]): void;
}

/** The default logger: says nothing. Pass `console` (or pino, winston, bunyan, …) to hear it. */
export const quietLogger: Logger = {};

/** The levels a {@link Logger} may have. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * How a logger takes a message with an error. Console and winston take the
 * message first (winston appends the error's message and keeps its `stack`).
 * pino takes an object first and drops an Error passed after the message;
 * bunyan prints it inside the message, and serializes an Error only when it
 * comes first. Both keep an Error passed first as `err`, message and stack.
 */
type Convention = 'messageFirst' | 'errorFirst';

/**
 * pino's and bunyan's shape: `fatal` and `child`, and no `log(level, …)`,
 * which console, winston and most message-first loggers have.
 */
function conventionOf(logger: object): Convention {
  const l = logger as Record<string, unknown>;
  const objectFirst =
    typeof l.fatal === 'function' && typeof l.child === 'function' && typeof l.log !== 'function';
  return objectFirst ? 'errorFirst' : 'messageFirst';
}

type Write = (this: unknown, ...args: unknown[]) => void;

/** A thrown value that is not an object, as it reads in a message: a string keeps its quotes. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'bigint' ? `${value}n` : String(value);
}

/**
 * Writes one line: `message`, with `details[0]` (a thrown value, at most one)
 * if given, the logger's way. A thrown primitive goes into the message, where
 * every logger keeps it (winston drops a second argument that is not an object).
 */
function writeLine(
  write: Write,
  logger: object,
  convention: Convention,
  message: string,
  details: unknown[],
): void {
  const detail = details[0];
  if (details.length === 0) {
    write.call(logger, message);
  } else if (detail === null || typeof detail !== 'object') {
    write.call(logger, `${message}: ${shown(detail)}`);
  } else if (convention === 'messageFirst') {
    write.call(logger, message, detail);
  } else {
    write.call(logger, detail instanceof Error ? detail : { err: detail }, message);
  }
}

/**
 * `logger` with every level wrapped so that it cannot throw, and called in
 * the logger's own convention (see {@link Convention}). The library logs
 * from inside its error paths; a log sink that fails there would otherwise
 * escape a timer callback and leave the worker stuck mid-outcome, and there
 * is nowhere left to report the sink's own failure.
 */
export function neverThrowing(logger: Logger): Logger {
  const convention = conventionOf(logger);
  const safe: Logger = {};
  for (const level of LOG_LEVELS) {
    const write = logger[level] as Write | undefined;
    if (write === undefined) continue;
    safe[level] = (message, ...details) => {
      try {
        writeLine(write, logger, convention, message, details);
      } catch {
        // Deliberately dropped: see above.
      }
    };
  }
  return safe;
}
