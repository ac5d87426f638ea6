import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'xstate-sync-worker';

/**
 * The package's version, read from its `package.json`. The command runs from
 * `dist/src/cli/` when installed and from `src/cli/` in a clone, so it looks
 * up the directory tree for the package's own manifest instead of assuming a depth.
 */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const manifest = readManifest(join(dir, 'package.json'));
    if (manifest?.name === NAME && typeof manifest.version === 'string') return manifest.version;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package.json of ${NAME}`);
    dir = parent;
  }
}

function readManifest(path: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return undefined;
  }
}
