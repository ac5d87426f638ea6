/**
 * The real PostgreSQL and Redis servers that the shared-store, fleet and bench
 * code runs against. `.ci/servers start DIR` starts both and writes their
 * URLs to DIR/env; a test reads them from the environment. Without a URL a
 * test is skipped locally, saying so, and FAILS under `CI` (CI starts both
 * servers, so a missing one there is a broken set-up, not a reason to skip).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';

/** A server kind the tests know. */
export type ServerKind = 'postgres' | 'redis';

const URL_VARIABLES: Record<ServerKind, string> = {
  postgres: 'XSW_POSTGRES_URL',
  redis: 'XSW_REDIS_URL',
};

/** The URL of `kind`'s server, or `undefined` when its variable is unset or empty. */
export function serverUrl(
  kind: ServerKind,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return env[URL_VARIABLES[kind]] || undefined;
}

/** Says how to get a server, for the skip message and the CI failure. */
export function missingServerHint(kind: ServerKind): string {
  return `${URL_VARIABLES[kind]} is not set: start the test servers with \`bash .ci/servers start "$(mktemp -d)"\` and source the env file it writes`;
}

/** What a suite that needs `kinds` should do here: run, skip (locally), or fail (under CI). */
export function serverPlan(
  kinds: readonly ServerKind[],
  env: NodeJS.ProcessEnv = process.env,
): { run: true } | { run: false; fail: boolean; reason: string } {
  const missing = kinds.filter((kind) => serverUrl(kind, env) === undefined);
  if (missing.length === 0) return { run: true };
  return { run: false, fail: Boolean(env.CI), reason: missing.map(missingServerHint).join('; ') };
}

/**
 * `describe`, when every server in `kinds` has a URL. Otherwise locally a
 * skipped suite whose name says why (and a line on stderr), and under CI one
 * failing test naming the missing variable.
 */
export function describeWithServers(
  kinds: readonly ServerKind[],
  name: string,
  body: () => void,
): void {
  const plan = serverPlan(kinds);
  if (plan.run) {
    describe(name, body);
    return;
  }
  if (plan.fail) {
    describe(name, () => {
      it('has its servers (CI starts them)', () => {
        throw new Error(`CI runs this suite against real servers, but ${plan.reason}`);
      });
    });
    return;
  }
  process.stderr.write(`skipping "${name}": ${plan.reason}\n`);
  describe.skip(`${name} (skipped: ${plan.reason})`, body);
}

/** The URL of `kind`'s server; throws the hint when it is unset (call inside a guarded suite). */
export function requireServerUrl(kind: ServerKind): string {
  const url = serverUrl(kind);
  if (url === undefined) throw new Error(missingServerHint(kind));
  return url;
}

/** Whether `.ci/servers` started the servers here, so they can be restarted and their pids read. */
export function serversControllable(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.XSW_SERVERS_DIR && env.XSW_SERVERS_CTL);
}

function serversDir(dir?: string): string {
  const found = dir ?? process.env.XSW_SERVERS_DIR;
  if (!found || !process.env.XSW_SERVERS_CTL) {
    throw new Error(
      'XSW_SERVERS_DIR is not set: only servers started by .ci/servers can be restarted or measured',
    );
  }
  return found;
}

/**
 * Stops `kind`'s server and starts it again on the same port and data
 * (`.ci/servers restart`): the shared ones, or those of `dir` (see
 * {@link startOwnServers}).
 */
export async function restartServer(kind: ServerKind, dir?: string): Promise<void> {
  const where = serversDir(dir);
  await promisify(execFile)('bash', [
    process.env.XSW_SERVERS_CTL as string,
    'restart',
    where,
    kind,
  ]);
}

/** A pair of servers of one test file's own, started by `.ci/servers` in their own directory. */
export interface OwnServers {
  readonly dir: string;
  readonly urls: Record<ServerKind, string>;
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL and a Redis of this test file's own with `.ci/servers`
 * (only where it started the shared ones, so their binaries are there): for
 * a test that restarts a server, which must not pull the shared ones from
 * under the test files running beside it.
 */
export async function startOwnServers(): Promise<OwnServers> {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const control = process.env.XSW_SERVERS_CTL;
  if (!control)
    throw new Error('XSW_SERVERS_CTL is not set: .ci/servers did not start the servers here');
  const dir = mkdtempSync(path.join(tmpdir(), 'xsw-own-servers-'));
  await promisify(execFile)('bash', [control, 'start', dir]);
  const env = readFileSync(path.join(dir, 'env'), 'utf8');
  const value = (name: string) => new RegExp(`^export ${name}=(.*)$`, 'm').exec(env)?.[1] ?? '';
  return {
    dir,
    urls: { postgres: value('XSW_POSTGRES_URL'), redis: value('XSW_REDIS_URL') },
    stop: async () => {
      await promisify(execFile)('bash', [control, 'stop', dir]);
    },
  };
}

/** The pid of `kind`'s server process (PostgreSQL: the postmaster). */
export function serverPid(kind: ServerKind, dir?: string): number {
  const where = serversDir(dir);
  const file =
    kind === 'redis' ? `${where}/redis/redis.pid` : `${where}/postgres/data/postmaster.pid`;
  // postmaster.pid's first line is the pid; redis.pid holds only the pid.
  return Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
}

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on Linux. */
const TICKS_PER_SECOND = 100;

/** One process's fields from /proc/<pid>/stat, or undefined once it has exited. */
function readStat(pid: number): { ppid: number; ticks: number; childTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: fields count from after its `)`.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]);
  return { ppid: at(4), ticks: at(14) + at(15), childTicks: at(16) + at(17) };
}

/**
 * CPU time (ms, user + system) used so far by `kind`'s server: the process
 * itself, its live children (PostgreSQL's backends, one per connection) and
 * the children it has reaped. Read before and after a run; the difference is
 * what the run cost the server.
 */
export function serverCpuMs(kind: ServerKind): number {
  const root = serverPid(kind);
  const own = readStat(root);
  if (own === undefined) throw new Error(`${kind}'s server (pid ${root}) is not running`);
  let ticks = own.ticks + own.childTicks;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === root) continue;
    const stat = readStat(pid);
    if (stat?.ppid === root) ticks += stat.ticks;
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** A redis-server of one test's own, on a free loopback port, in memory only. */
export interface PrivateRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts a redis-server for one test, with `args` added (for settings a
 * test must not impose on the shared server, such as an eviction policy).
 * Resolves once it accepts connections.
 */
export async function startPrivateRedis(args: readonly string[] = []): Promise<PrivateRedis> {
  const { spawn } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // It logs this line once it accepts connections.
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${seen}`)));
  });
  child.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
