import { readFileSync } from 'node:fs';

/**
 * Whether a process is alive and not a zombie: a reparented child may wait a
 * moment for its new parent to reap it, and `kill(pid, 0)` succeeds on a zombie.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no procfs: trust the signal
  }
}

/**
 * Polls `condition` until it holds or `boundMs` passes; resolves whether it
 * held. For what another process does, which no promise here can await.
 */
export async function eventually(condition: () => boolean, boundMs: number): Promise<boolean> {
  const deadline = performance.now() + boundMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
