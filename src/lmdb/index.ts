/**
 * `xstate-sync-worker/lmdb`: the embedded, crash-safe backlog store for Node.
 * Needs the optional peer dependency `lmdb` (prebuilt binaries, no compiler).
 *
 * @packageDocumentation
 */
export { type LmdbBacklogOptions, lmdbBacklog } from './lmdbBacklog.js';
