import { resolve } from 'node:path';
import { optionNames, refuseUnknownOptions } from '../optionNames.js';

/** Options of `lmdbBacklog`. */
export interface LmdbBacklogOptions {
  /** The store's directory; created if missing. It holds `backlog.mdb` and, while owned, `worker.lock`. */
  path: string;
  /**
   * Open for reading only: no lock is taken, so it works beside a running
   * worker (the CLI's `stats`, `list` and `export` do this). Writes throw,
   * and a `SyncWorker` refuses such a store.
   */
  readOnly?: boolean;
  /**
   * The size LMDB's memory map starts at, in bytes. Not a limit: lmdb grows
   * the map (and the file) by itself when the data outgrows it. Default: lmdb's.
   */
  mapSize?: number;
  /**
   * A real cap on the store's size, in bytes: a group commit that would take
   * the pages in use past it is refused with a `BacklogFullError`. Default: none.
   */
  maxBytes?: number;
}

/** {@link LmdbBacklogOptions}, checked, with the path made absolute. */
export interface LmdbSettings {
  location: string;
  readOnly: boolean;
  mapSize: number | undefined;
  maxBytes: number | undefined;
}

const OWNER = 'lmdbBacklog';
/** Every option of {@link LmdbBacklogOptions}; one line per option. */
const OPTION_NAMES = optionNames<LmdbBacklogOptions>()(['path', 'readOnly', 'mapSize', 'maxBytes']);

/**
 * Checks the options of `lmdbBacklog`.
 *
 * @throws TypeError or RangeError naming the option.
 */
export function lmdbSettings(options: unknown): LmdbSettings {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${OWNER}: path must be a non-empty string`);
  }
  const o = options as Partial<Record<keyof LmdbBacklogOptions, unknown>>;
  if (typeof o.path !== 'string' || o.path === '') {
    throw new TypeError(`${OWNER}: path must be a non-empty string`);
  }
  refuseUnknownOptions(OWNER, o, OPTION_NAMES);
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') {
    throw new TypeError(`${OWNER}: readOnly must be a boolean`);
  }
  return {
    location: resolve(o.path),
    readOnly: o.readOnly === true,
    mapSize: byteCount('mapSize', o.mapSize),
    maxBytes: byteCount('maxBytes', o.maxBytes),
  };
}

function byteCount(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`${OWNER}: ${name} must be a number of bytes`);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `${OWNER}: ${name} must be a positive whole number of bytes, not ${value}`,
    );
  }
  return value;
}
