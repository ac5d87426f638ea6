/** A console-compatible sink for what the library swallows: callback and listener errors, state changes. */
export interface Logger {
  debug?(message: string, ...details: unknown[]): void;
  info?(message: string, ...details: unknown[]): void;
  warn?(message: string, ...details: unknown[]): void;
  error?(message: string, ...details: unknown[]): void;
}

/** The default logger: says nothing. Pass `console` (or pino, winston, …) to hear it. */
export const quietLogger: Logger = {};
