/**
 * Finds the relative links and images of Markdown files that lead nowhere: a
 * file that is not there, or a `#fragment` that names no heading of its file.
 * Links to other schemes (`https:`, `mailto:`) are not followed.
 *
 * Run directly (`tsx test/support/markdownLinks.ts <dir>`), it checks every
 * `.md` file under `<dir>`, prints each broken link and exits 1 if there is one:
 * .ci/pack-smoke runs it on the unpacked tarball.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A link that leads nowhere. */
export interface BrokenLink {
  /** The Markdown file, relative to the directory checked. */
  file: string;
  /** The target as written. */
  target: string;
  why: string;
}

/** The lines of `markdown` with those of fenced code blocks (fences included) blanked. */
function outsideFences(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === undefined) {
        if (marker === undefined) return line;
        fence = marker;
        return '';
      }
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
        fence = undefined;
      }
      return '';
    })
    .join('\n');
}

/** The text outside fenced blocks and inline code, where links are links. */
function prose(markdown: string): string {
  return outsideFences(markdown).replace(/(`+)[\s\S]*?\1/g, '');
}

/** Every link and image target: `[text](target)`, `![alt](target)`, `[id]: target`, `src=` and `href=`. */
export function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const targets: string[] = [];
  // Every `](target)` ends a link or an image, whatever its text holds (an image inside a link, say).
  for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(match[1] ?? '');
  }
  for (const match of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) {
    targets.push(match[1] ?? '');
  }
  for (const match of text.matchAll(/\b(?:src|href)\s*=\s*"([^"]+)"/g))
    targets.push(match[1] ?? '');
  return targets;
}

/** GitHub's anchors for the headings of `markdown`, duplicates numbered `-1`, `-2`, … */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const match of outsideFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (match[1] ?? '').replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const seen = counts.get(slug) ?? 0;
    counts.set(slug, seen + 1);
    anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
  }
  return anchors;
}

function markdownFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') found.push(...markdownFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.md')) found.push(path);
  }
  return found;
}

/** Why `target`, written in `file`, leads nowhere, or `undefined` if it leads somewhere. */
function brokenBecause(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const hash = target.indexOf('#');
  const path = hash < 0 ? target : target.slice(0, hash);
  const fragment = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const destination = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
  if (!existsSync(destination)) return 'no such file';
  const isMarkdown = statSync(destination).isFile() && destination.endsWith('.md');
  if (fragment !== undefined && isMarkdown) {
    if (!headingAnchors(readFileSync(destination, 'utf8')).has(fragment)) return 'no such heading';
  }
  return undefined;
}

/** The broken links of every `.md` file under `dir` (or only of `files`, relative to it). */
export function brokenLinks(dir: string, files?: readonly string[]): BrokenLink[] {
  const root = resolve(dir);
  const paths = files?.map((file) => resolve(root, file)) ?? markdownFiles(root);
  const broken: BrokenLink[] = [];
  for (const path of paths) {
    for (const target of linkTargets(readFileSync(path, 'utf8'))) {
      const why = brokenBecause(path, target);
      if (why !== undefined) broken.push({ file: relative(root, path), target, why });
    }
  }
  return broken;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? '.';
  const broken = brokenLinks(dir);
  for (const link of broken) console.error(`${link.file}: ${link.target}: ${link.why}`);
  if (broken.length > 0) process.exit(1);
  console.log(`links: every relative link and image of the Markdown files under ${dir} resolves`);
}
