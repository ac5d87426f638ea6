/** A console-compatible sink for what the library swallows: callback and listener errors, state changes. */
export interface Logger {
  debug?(message: string, ...details: unknown[]): void;
  info?(message: string, ...details: unknown[]): void;
  warn?(message: string, ...details: unknown[]): void;
  error?(message: string, ...details: unknown[]): void;
}

/** The default logger: says nothing. Pass `console` (or pino, winston, …) to hear it. */
export const quietLogger: Logger = {};

/** The levels a {@link Logger} may have. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * `logger` with every level wrapped so that it cannot throw. The library logs
 * from inside its error paths; a log sink that fails there would otherwise
 * escape a timer callback and leave the worker stuck mid-outcome, and there
 * is nowhere left to report the sink's own failure.
 */
export function neverThrowing(logger: Logger): Logger {
  const safe: Logger = {};
  for (const level of LOG_LEVELS) {
    const write = logger[level];
    if (write === undefined) continue;
    safe[level] = (message, ...details) => {
      try {
        write.call(logger, message, ...details);
      } catch {
        // Deliberately dropped: see above.
      }
    };
  }
  return safe;
}
