import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { USAGE as DEMO_USAGE, parseOptions } from '../../examples/demo/options.js';
import { commandsFor, readmeSection, shellBlocks } from '../support/readme.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const PACKAGE = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as {
  name: string;
  version: string;
  scripts: Record<string, string>;
  peerDependencies: Record<string, string>;
  files: string[];
};

function section(title: string): string {
  return readmeSection(README, title);
}

describe('the README’s shell blocks', () => {
  it('each says where it runs; a skipped one says why', () => {
    const blocks = shellBlocks(README);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      if (block.place === 'skip') expect(block.reason, `line ${block.line}`).toMatch(/\w{3,}/);
    }
    expect(blocks.map((b) => b.place)).toContain('clone');
    expect(blocks.map((b) => b.place)).toContain('installed');
  });

  it('reads markers, comments and promised exit codes', () => {
    const markdown = [
      '<!-- readme: clone -->',
      '```sh',
      'npm start -- --kill-at outage   # dies by SIGKILL (exit 137)',
      "echo '# not a comment' # but this is",
      '',
      '```',
      '<!-- readme: skip, it needs a real remote -->',
      '',
      '```bash',
      'curl https://example.invalid',
      '```',
      '```ts',
      'const notShell = 1;',
      '```',
    ].join('\n');
    expect(commandsFor(markdown, 'clone')).toEqual([
      { command: 'npm start -- --kill-at outage', exit: 137 },
      { command: "echo '# not a comment'", exit: 0 },
    ]);
    expect(shellBlocks(markdown)[1]).toMatchObject({
      place: 'skip',
      reason: 'it needs a real remote',
    });
    expect(() => shellBlocks('```sh\nls\n```')).toThrow(/line 1: a shell block without/);
    expect(() => shellBlocks('<!-- readme: skip -->\n```sh\nls\n```')).toThrow(/needs a reason/);
  });

  it('every `npm run <script>` it names is a script of package.json', () => {
    const named = new Set(
      [...README.matchAll(/npm run (?:--silent )?([\w:-]+)/g)].map((m) => m[1]),
    );
    expect(named.size).toBeGreaterThan(5);
    for (const script of named)
      expect(PACKAGE.scripts, `npm run ${script}`).toHaveProperty(script ?? '');
  });

  it('every other `npx <tool>` it names is installed by npm ci', () => {
    const tools = new Set([...README.matchAll(/npx ([\w@/.-]+)/g)].map((m) => m[1] ?? ''));
    tools.delete('xstate-sync-worker');
    expect(tools.size).toBeGreaterThan(0);
    for (const tool of tools) {
      expect(existsSync(new URL(`../../node_modules/.bin/${tool}`, import.meta.url)), tool).toBe(
        true,
      );
    }
  });

  it('`npx xstate-sync-worker` appears only where the package is installed', () => {
    for (const { command } of commandsFor(README, 'clone')) {
      expect(command).not.toMatch(/npx xstate-sync-worker/);
    }
    expect(commandsFor(README, 'installed').length).toBeGreaterThan(0);
    for (const { command } of commandsFor(README, 'installed')) {
      expect(command).toMatch(/^npx xstate-sync-worker /);
    }
  });
});

describe('the README’s facts about the package', () => {
  it('gives the peer ranges package.json declares', () => {
    const install = section('Install');
    for (const [name, range] of Object.entries(PACKAGE.peerDependencies)) {
      expect(install, name).toContain(`\`${name}\``);
      expect(install, name).toContain(`(\`${range}\``);
    }
  });

  it('names the tarball npm pack writes, and says the package is not on the registry yet', () => {
    const tarball = `${PACKAGE.name}-${PACKAGE.version}.tgz`;
    const install = section('Install');
    expect(install).toContain(`npm install ./${tarball}`);
    expect(install).toContain(`writes ${tarball}`);
    expect(install).toMatch(/not on the npm registry yet/);
  });

  it('ships the files its links need', () => {
    // An entry of `files` may hold a `*` in its last segment (`docs/*.png`), as npm's globs do.
    const shipped = (file: string) =>
      (PACKAGE.files as string[]).some((entry) =>
        entry.includes('*')
          ? file.startsWith(entry.slice(0, entry.lastIndexOf('/') + 1)) &&
            file.endsWith(entry.slice(entry.lastIndexOf('*') + 1))
          : entry === file,
      );
    for (const file of [
      'docs/demo-report.png',
      'docs/live-view.png',
      'bench/RESULTS.md',
      'examples',
    ]) {
      expect(shipped(file), file).toBe(true);
      expect(existsSync(new URL(`../../${file}`, import.meta.url))).toBe(true);
    }
  });
});

describe('the demo’s options table', () => {
  const rows = [
    ...section('The demo (`npm start`)').matchAll(/^\| `(--[\w-]+)[^`]*` *\| *([^|]*?) *\|/gm),
  ];
  const table = new Map(rows.map((m) => [m[1] ?? '', m[2] ?? '']));
  const help = new Map(
    [...DEMO_USAGE.matchAll(/^ {2}(--[\w-]+)(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );

  it('lists exactly the options of npm start -- --help', () => {
    expect(table.size).toBeGreaterThan(5);
    expect([...table.keys()].sort()).toEqual([...help.keys()].filter((o) => o !== '--help').sort());
  });

  it('gives the defaults that --help gives and the demo uses', () => {
    const plain = parseOptions([], {});
    const fast = parseOptions(['--fast'], {});
    const numbers: [string, number, number][] = [
      ['--sessions', plain.sessions, fast.sessions],
      ['--turns', plain.turns, fast.turns],
      ['--seed', plain.seed, fast.seed],
    ];
    for (const [option, normal, condensed] of numbers) {
      const shown = normal === condensed ? `${normal}` : `${normal} (${condensed})`;
      expect(table.get(option), option).toBe(shown);
      expect(help.get(option), option).toMatch(
        normal === condensed ? `default ${normal}` : `default ${normal} (--fast: ${condensed})`,
      );
    }
    const outage = /default (\d+) \(--fast: (\d+)\)/.exec(help.get('--outage-ms') ?? '');
    expect(table.get('--outage-ms')).toBe(`${outage?.[1]} (${outage?.[2]})`);
    expect(table.get('--report')).toBe(`\`${basename(plain.report)}\``);
  });
});
