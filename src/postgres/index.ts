/**
 * `xstate-sync-worker/postgres`: a shared backlog in PostgreSQL, for a fleet
 * of workers and producers. Needs the optional peer dependency `pg` (8.x).
 *
 * @packageDocumentation
 */
export { DEFAULT_SCHEMA, type PostgresBacklogOptions, postgresBacklog } from './postgresBacklog.js';
export { SCHEMA_VERSION } from './schema.js';
