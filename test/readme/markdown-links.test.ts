import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { brokenLinks, headingAnchors, linkTargets } from '../support/markdownLinks.js';
import { tempDirs } from '../support/temp-dirs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tempDir = tempDirs('xsw-links-');

describe('the link check .ci/pack-smoke runs on the unpacked tarball', () => {
  it('finds links and images, not what code shows', () => {
    const markdown = [
      '[![shot](docs/shot.png)](#the-demo)',
      'See [the bench](bench/RESULTS.md "results") and [a site](https://example.org).',
      '[ref]: examples/demo/',
      '<img src="docs/logo.svg"> `[not](a-link.md)`',
      '```md',
      '[also not](fenced.md)',
      '```',
    ].join('\n');
    expect(linkTargets(markdown).sort()).toEqual(
      [
        '#the-demo',
        'bench/RESULTS.md',
        'docs/logo.svg',
        'docs/shot.png',
        'examples/demo/',
        'https://example.org',
      ].sort(),
    );
  });

  it('makes GitHub’s anchors, numbering repeats', () => {
    const anchors = headingAnchors(
      '# The demo (`npm start`)\n## API\n### `new SyncWorker(options?)`\n## API\n',
    );
    expect([...anchors]).toEqual(['the-demo-npm-start', 'api', 'new-syncworkeroptions', 'api-1']);
  });

  it('reports a missing file, a missing image and a missing heading, and nothing else', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs', 'here.png'), '');
    writeFileSync(
      join(dir, 'docs', 'guide.md'),
      '# Guide\n\nBack to [the top](../README.md#usage).\n',
    );
    writeFileSync(
      join(dir, 'README.md'),
      [
        '# Package',
        '## Usage',
        '![present](docs/here.png) ![absent](docs/gone.png)',
        '[guide](docs/guide.md#guide) [no heading](docs/guide.md#nowhere) [self](#usage) [bad](#nope)',
        '[missing](bench/RESULTS.md) [web](https://example.org/x.md)',
      ].join('\n'),
    );
    expect(brokenLinks(dir)).toEqual([
      { file: 'README.md', target: 'docs/gone.png', why: 'no such file' },
      { file: 'README.md', target: 'docs/guide.md#nowhere', why: 'no such heading' },
      { file: 'README.md', target: '#nope', why: 'no such heading' },
      { file: 'README.md', target: 'bench/RESULTS.md', why: 'no such file' },
    ]);
  });

  it('finds none in the repository’s own README and bench notes', () => {
    expect(brokenLinks(ROOT, ['README.md', 'bench/README.md', 'CHANGELOG.md'])).toEqual([]);
  });
});
