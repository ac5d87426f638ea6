/**
 * The README's clone commands, run as written in a fresh `git clone` of this
 * repository (its last commit: what a user gets, not the working tree).
 *
 * Three substitutions, each for a stated reason:
 * - `npm ci`: by default the test links this checkout's `node_modules` into the
 *   clone instead, for speed; `README_CLONE_INSTALL=npm-ci` (what `.ci/readme`
 *   sets) runs the real `npm ci`;
 * - `npm start` gets `--fast`: the same story in about 6 s instead of 45;
 * - `npm test` is left out: it is this suite, which CI runs on its own.
 */
import { spawn } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commandsFor } from '../support/readme.js';
import { tempDirs } from '../support/temp-dirs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REAL_INSTALL = process.env.README_CLONE_INSTALL === 'npm-ci';
/** A bound on one command, so a hang fails the test instead of stalling it; not a synchronisation. */
const COMMAND_BOUND_MS = REAL_INSTALL ? 600_000 : 180_000;
const tempDir = tempDirs('xsw-readme-clone-');

interface Ran {
  code: number | null;
  output: string;
}

/** Runs `command` with bash in `cwd`, as a user's shell would, with CI's plain output. */
function sh(command: string, cwd: string): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', FORCE_COLOR: '0' };
  // The clone must not think it runs inside this test run.
  for (const name of Object.keys(env)) if (name.startsWith('VITEST')) delete env[name];
  delete env.NODE_ENV;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const bound = setTimeout(() => child.kill('SIGKILL'), COMMAND_BOUND_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(bound);
      resolve({ code, output });
    });
  });
}

/** The command this test runs for one the README shows, or why it runs none. */
function asTested(command: string): { run: string } | { skip: string } {
  const parts: string[] = [];
  for (const part of command.split('&&').map((p) => p.trim())) {
    if (part === 'npm test') continue;
    if (part === 'npm ci') {
      if (REAL_INSTALL) parts.push('npm ci --no-audit --no-fund');
      continue;
    }
    if (/^npm start\b/.test(part))
      parts.push(part.includes(' -- ') ? `${part} --fast` : `${part} -- --fast`);
    else parts.push(part);
  }
  return parts.length === 0 ? { skip: command } : { run: parts.join(' && ') };
}

describe('the README’s clone commands', () => {
  it('map to what this test runs', () => {
    expect(asTested('npm ci && npm start')).toEqual(
      REAL_INSTALL
        ? { run: 'npm ci --no-audit --no-fund && npm start -- --fast' }
        : { run: 'npm start -- --fast' },
    );
    expect(asTested('npm start -- --backlog ./r --resume')).toEqual({
      run: 'npm start -- --backlog ./r --resume --fast',
    });
    expect(asTested('npm test')).toEqual({ skip: 'npm test' });
    expect(asTested('npm run cli -- --version')).toEqual({ run: 'npm run cli -- --version' });
  });

  it('run as written in a fresh clone, each with the exit code it promises', async () => {
    const clone = join(tempDir(), 'xstate-sync-worker');
    const cloned = await sh(
      `git clone --quiet ${JSON.stringify(ROOT)} ${JSON.stringify(clone)}`,
      ROOT,
    );
    expect(cloned.code, cloned.output).toBe(0);
    if (!REAL_INSTALL) symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    // The clone's own README: the commands a user of that commit reads.
    const cloneCommands = commandsFor(await readFile(join(clone, 'README.md'), 'utf8'), 'clone');
    expect(cloneCommands.length).toBeGreaterThan(3);

    const done = new Set<string>();
    for (const { command, exit } of cloneCommands) {
      const tested = asTested(command);
      if ('skip' in tested || done.has(tested.run)) continue;
      done.add(tested.run);
      const ran = await sh(tested.run, clone);
      expect(ran.code, `${tested.run}\n${ran.output.slice(-3000)}`).toBe(exit);
    }
    expect(done.size).toBeGreaterThan(3);
  }, 900_000);
});
