/**
 * The runtime drivers may use the public API only: a driver that sent events to an actor,
 * or fetched one from its system, would make the runtime coverage measure the machine
 * again instead of the objects. This reads every file of this folder (those added later
 * too) and fails on either.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FOLDER = fileURLToPath(new URL('.', import.meta.url));

/**
 * A method call named `send`, and `system` then `get` called, whitespace allowed around
 * the dot. Written as patterns, so this file's own text does not match them.
 */
const BACKDOORS = [/\.\s*send\s*\(/, /\bsystem\s*\.\s*get\s*\(/];

/** `<line number>: <line>` for each line of `text` that reaches past the public API. */
function backdoorsIn(text: string): string[] {
  return text
    .split('\n')
    .flatMap((line, i) =>
      BACKDOORS.some((pattern) => pattern.test(line)) ? [`${i + 1}: ${line.trim()}`] : [],
    );
}

/** Every file under the folder, subfolders included, as paths relative to it. */
function filesOf(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(path.join(folder, name)).isFile())
    .sort();
}

describe('runtime drivers use only the public API', () => {
  it('no file in test/runtime sends an event to an actor or gets one from its system', () => {
    const files = filesOf(FOLDER);
    // The listing itself must work, or the check below would pass on nothing.
    expect(files).toEqual(
      expect.arrayContaining([
        'breaker.runtime.test.ts',
        'latency.runtime.test.ts',
        'no-backdoor.test.ts',
      ]),
    );
    const found = files.flatMap((file) =>
      backdoorsIn(readFileSync(path.join(FOLDER, file), 'utf8')).map((hit) => `${file}:${hit}`),
    );
    expect(found).toEqual([]);
  });

  it('catches planted lines, and leaves the public calls alone', () => {
    // Assembled at run time, so this file does not contain what it looks for.
    const sent = ['breaker.actor', 'send({ type: "FAILURE" });'].join('.');
    const spaced = ['worker.actor ', ' send ({ type: "WORK" });'].join('.');
    const fetched = ['actor.system', 'get("breaker");'].join('.');
    const text = [
      'breaker.recordFailure();',
      sent,
      'clock.increment(1000);',
      spaced,
      fetched,
      'tracker.observe(5); // send nothing',
    ].join('\n');
    expect(backdoorsIn(text)).toEqual([`2: ${sent}`, `4: ${spaced.trim()}`, `5: ${fetched}`]);
  });
});
