import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { type Logger, quietLogger } from '../logger.js';
import { clockOption, loggerOption, optionsObject, positiveInteger } from '../validate.js';
import { isLoopback } from './hosts.js';

const OWNER = 'serveLiveView';

/** Options of {@link serveLiveView}. */
export interface LiveViewOptions {
  /** The TCP port; `0` (the default) takes a free one, which the handle's `url` names. */
  port?: number;
  /**
   * The address to bind. Default `127.0.0.1`: only this machine can open the
   * page. Any other address needs `allowRemote: true`.
   */
  host?: string;
  /** Set to `true` to bind an address other machines can reach (the page is read-only, but not secret). */
  allowRemote?: boolean;
  /**
   * Further `Host` header values to answer (`name` or `name:port`), e.g. the
   * machine's name when bound to `0.0.0.0`. Every other `Host` is refused with 421.
   */
  allowedHosts?: readonly string[];
  /** How many state changes the server keeps for viewers that connect or fall behind. Default 1000. */
  history?: number;
  /** A viewer with more than this many bytes not yet sent is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Receives the server's errors. Default: quiet. */
  logger?: Logger;
  /** The clock of the send timer. Default: unref'd timers. */
  clock?: Clock;
}

/** The options with their defaults, checked. */
export interface LiveViewSettings {
  port: number;
  host: string;
  allowedHosts: string[];
  history: number;
  maxBufferedBytes: number;
  logger: Logger;
  clock: Clock;
}

function host(value: unknown, allowRemote: unknown): string {
  if (value === undefined) return '127.0.0.1';
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${OWNER}: host must be a non-empty string, got ${typeof value}`);
  }
  if (allowRemote !== undefined && typeof allowRemote !== 'boolean') {
    throw new TypeError(`${OWNER}: allowRemote must be a boolean`);
  }
  if (!isLoopback(value) && allowRemote !== true) {
    throw new RangeError(
      `${OWNER}: host ${JSON.stringify(value)} is not a loopback address, so other machines could open the page; pass allowRemote: true if that is meant`,
    );
  }
  return value;
}

function port(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new RangeError(`${OWNER}: port must be an integer from 0 to 65535, got ${String(value)}`);
  }
  return value;
}

function hostList(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string' || name === '')) {
    throw new TypeError(`${OWNER}: allowedHosts must be an array of non-empty strings`);
  }
  return [...value];
}

/** Checks every option before anything starts; a bad one throws a `TypeError` or `RangeError` naming it. */
export function liveViewSettings(options: unknown): LiveViewSettings {
  const o = optionsObject<LiveViewOptions>(OWNER, options);
  return {
    port: port(o.port),
    host: host(o.host, o.allowRemote),
    allowedHosts: hostList(o.allowedHosts),
    history: positiveInteger(OWNER, 'history', o.history, 1_000, false, 100_000),
    maxBufferedBytes: positiveInteger(OWNER, 'maxBufferedBytes', o.maxBufferedBytes, 1024 * 1024),
    logger: loggerOption(OWNER, o.logger) ?? quietLogger,
    clock: clockOption(OWNER, o.clock) ?? systemClock,
  };
}
