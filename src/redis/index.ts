/**
 * `xstate-sync-worker/redis`: a shared backlog in Redis, for a fleet of
 * workers and producers. Needs the optional peer dependency `ioredis` (6.x).
 *
 * @packageDocumentation
 */
export {
  DEFAULT_PREFIX,
  LAYOUT_VERSION,
  type RedisBacklogOptions,
  redisBacklog,
} from './redisBacklog.js';
