import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { advance, durableWorker } from '../support/durable.js';

const child = fileURLToPath(new URL('../fixtures/durable-crash-child.ts', import.meta.url));
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the child until it reports `until`, kills it with SIGKILL, and returns what it said was flushed. */
function runAndKill(path: string, until: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, path, '3', '50'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let flushed = 0;
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const match of out.matchAll(/FLUSHED (\d+)/g)) flushed = Number(match[1]);
      if (until.test(out)) proc.kill('SIGKILL');
    });
    proc.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(flushed);
      else reject(new Error(`child exited on its own (${signal ?? _code}): ${out}`));
    });
  });
}

describe('crash safety of the lmdb backlog', () => {
  it('after SIGKILL, a new process delivers every flushed task, per key in order, duplicates only by id', async () => {
    const path = mkdtempSync(join(tmpdir(), 'xsw-crash-'));
    dirs.push(path);
    const flushed = await runAndKill(path, /WAITING/);
    expect(flushed).toBe(150);

    // The killed worker's outage is kept too: the new breaker resumes it, then probes.
    const { worker, remote, clock } = durableWorker({}, lmdbBacklog({ path }));
    expect(worker.breaker?.state).toBe('open');
    await advance(clock, 60_000);
    await worker.onIdle();
    await worker.shutdown();
    const ids = remote.delivered.map((c) => c.id);
    for (let n = 0; n < flushed; n++) expect(ids).toContain(`m-${n}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (let k = 0; k < 5; k++) {
      const ns = remote.deliveredOf(`session-${k}`).map((p) => (p as { n: number }).n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
  }, 30_000);
});
