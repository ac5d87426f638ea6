/**
 * The README's shell blocks, as the checks that run them see them.
 *
 * Every ```sh block carries a marker on the line above it that says where its
 * commands run:
 *
 * - `<!-- readme: clone -->`: in a clean clone of the repository, after `npm ci`
 *   (test/readme/readme-commands.test.ts runs them);
 * - `<!-- readme: installed -->`: in a project that installed the packed tarball
 *   (.ci/pack-smoke runs them);
 * - `<!-- readme: skip, <reason> -->`: not run, for the reason given.
 *
 * A command's trailing `# comment` that says `exit N` is the exit code it must
 * end with; otherwise it must end with 0.
 *
 * Run directly (`tsx test/support/readme.ts <README.md> <clone|installed>`), it
 * prints the commands of those blocks, one per line, as `<exit code> <command>`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Where a block's commands run. */
export type BlockPlace = 'clone' | 'installed' | 'skip';

/** One command of a shell block. */
export interface ReadmeCommand {
  /** The command as written, without its trailing comment. */
  command: string;
  /** The exit code its comment promises (`exit 137`), else 0. */
  exit: number;
}

/** A ```sh block and its marker. */
export interface ShellBlock {
  place: BlockPlace;
  /** For `skip`: why. */
  reason?: string;
  /** The 1-based line of the opening fence. */
  line: number;
  commands: ReadmeCommand[];
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;
const SHELLS = new Set(['sh', 'bash', 'shell', 'console']);
const MARKER = /^<!--\s*readme:\s*(clone|installed|skip)\s*(?:,\s*(.*?))?\s*-->$/;

/** Splits a line into its command and its trailing comment (a `#` after a space, outside quotes). */
function splitComment(line: string): { command: string; comment: string } {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return { command: line.slice(0, i).trim(), comment: line.slice(i + 1).trim() };
    }
  }
  return { command: line.trim(), comment: '' };
}

function commandsOf(body: readonly string[]): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  for (const line of body) {
    const { command, comment } = splitComment(line);
    if (command === '') continue;
    const promised = /\bexit (\d+)\b/.exec(comment);
    commands.push({ command, exit: promised ? Number(promised[1]) : 0 });
  }
  return commands;
}

/** The marker on the nearest non-blank line above `index`, if there is one. */
function markerAbove(lines: readonly string[], index: number): RegExpExecArray | null {
  for (let i = index - 1; i >= 0; i--) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    return MARKER.exec(line);
  }
  return null;
}

/** A fenced block: its language, the index of its opening line and its lines. */
interface Fenced {
  language: string;
  index: number;
  body: string[];
}

/** Every fenced block of `markdown`, in order. */
function fencedBlocks(lines: readonly string[]): Fenced[] {
  const blocks: Fenced[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const fence = open[2] ?? '```';
    const body: string[] = [];
    let end = i + 1;
    while (end < lines.length && !(lines[end] ?? '').trim().startsWith(fence)) {
      body.push(lines[end] ?? '');
      end++;
    }
    blocks.push({ language: open[3] ?? '', index: i, body });
    i = end;
  }
  return blocks;
}

/**
 * Every shell block of `markdown`. A block without a marker, or a `skip`
 * without a reason, throws: a command nobody runs must say why.
 */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  return fencedBlocks(lines)
    .filter((block) => SHELLS.has(block.language))
    .map(({ index, body }) => {
      const marker = markerAbove(lines, index);
      if (!marker) {
        throw new Error(
          `README line ${index + 1}: a shell block without a <!-- readme: … --> marker`,
        );
      }
      const place = marker[1] as BlockPlace;
      const reason = marker[2] || undefined;
      if (place === 'skip' && reason === undefined) {
        throw new Error(`README line ${index + 1}: <!-- readme: skip --> needs a reason`);
      }
      return { place, reason, line: index + 1, commands: commandsOf(body) };
    });
}

/** The commands of the blocks marked `place`, in order. */
export function commandsFor(markdown: string, place: BlockPlace): ReadmeCommand[] {
  return shellBlocks(markdown)
    .filter((block) => block.place === place)
    .flatMap((block) => block.commands);
}

/** The section of `markdown` under the heading `title`, up to the next heading of its level or above. */
export function readmeSection(markdown: string, title: string): string {
  const escaped = title.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&');
  const start = markdown.search(new RegExp(`^(#+) ${escaped}\\s*$`, 'm'));
  if (start < 0) throw new Error(`no section "${title}" in the README`);
  const level = /^#+/.exec(markdown.slice(start))?.[0].length ?? 2;
  const rest = markdown.slice(markdown.indexOf('\n', start) + 1);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

/** The bodies of the fenced blocks of `markdown` in `language` (```ts), in order. */
export function codeBlocks(markdown: string, language: string): string[] {
  return fencedBlocks(markdown.split('\n'))
    .filter((block) => block.language === language)
    .map((block) => block.body.join('\n'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file = 'README.md', place = 'clone'] = process.argv.slice(2);
  for (const { exit, command } of commandsFor(readFileSync(file, 'utf8'), place as BlockPlace)) {
    process.stdout.write(`${exit} ${command}\n`);
  }
}
