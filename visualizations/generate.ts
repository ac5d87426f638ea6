/**
 * Draws the XState machines in `machines/` as diagrams.
 *
 *   tsx visualizations/generate.ts          writes visualizations/<name>.mmd and <name>.svg
 *   tsx visualizations/generate.ts --check  exits 1, naming each file, when one is missing,
 *                                           differs from what the machines give, or is left
 *                                           over from a machine that no longer exists
 *
 * `<name>` is the stem of `machines/<name>.machine.ts` or
 * `machines/projections/<name>.machine.ts`. Every such file is
 * drawn: new machines need no change here.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { instance } from '@viz-js/viz';
import type { AnyStateMachine } from 'xstate';
import { toDot } from './dot.js';
import { toMermaid } from './mermaid.js';
import { buildDiagram } from './model.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MACHINES_DIR = path.join(ROOT, 'machines');
const OUTPUT_DIR = path.join(ROOT, 'visualizations');
const MACHINE_SUFFIX = '.machine.ts';
const OUTPUT_EXTENSIONS = ['.mmd', '.svg'];
/** Ends the comment that marks every generated file. */
const STAMP = 'by visualizations/generate.ts: do not edit.';

/** One output file: where it goes (relative to the repository root) and what it must hold. */
export interface GeneratedFile {
  path: string;
  content: string;
}

/**
 * Folders of `machines/` that hold machine files: the machines that decide, and
 * `projections/`, the machines that record a regime the runtime tells them.
 */
const MACHINE_FOLDERS = ['', 'projections'];

/**
 * The machine files, as paths under `machines/`, sorted so output order never
 * depends on the file system.
 */
export async function findMachineFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const folder of MACHINE_FOLDERS) {
    const entries = await readdir(path.join(MACHINES_DIR, folder));
    for (const entry of entries) {
      if (entry.endsWith(MACHINE_SUFFIX)) files.push(folder ? `${folder}/${entry}` : entry);
    }
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Imports a machine file and returns the state machine it exports. Recognised
 * by shape (a `root` state node and a `definition`/`config`), not by export
 * name, so any `<something>Machine` works.
 */
export async function loadMachine(file: string): Promise<AnyStateMachine> {
  const module: Record<string, unknown> = await import(
    pathToFileURL(path.join(MACHINES_DIR, file)).href
  );
  const machines = Object.entries(module).filter(([, value]) => isStateMachine(value));
  const [first, ...others] = machines;
  if (!first || others.length > 0) {
    const found = machines.map(([name]) => name).join(', ') || 'none';
    throw new Error(`machines/${file} must export exactly one state machine (found: ${found})`);
  }
  return first[1] as AnyStateMachine;
}

function isStateMachine(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const root = (value as { root?: unknown }).root;
  return (
    typeof root === 'object' &&
    root !== null &&
    'states' in root &&
    ('definition' in value || 'config' in value)
  );
}

/** Renders DOT to SVG with the WebAssembly Graphviz, so no system Graphviz is needed. */
export async function createSvgRenderer(): Promise<(dot: string) => string> {
  const viz = await instance();
  return (dot) => {
    const result = viz.render(dot, { format: 'svg' });
    for (const error of result.errors) {
      console.warn(`graphviz ${error.level ?? 'message'}: ${error.message.trim()}`);
    }
    if (result.status !== 'success') throw new Error('graphviz could not render the diagram');
    return result.output;
  };
}

/** Says where an SVG comes from, since Graphviz's own header names only itself. */
function stampSvg(svg: string, comment: string): string {
  const svgStart = svg.indexOf('<svg');
  const note = `<!-- ${comment} -->\n`;
  return svgStart < 0 ? svg : `${svg.slice(0, svgStart)}${note}${svg.slice(svgStart)}`;
}

/** Everything the machines should produce, in memory. */
export async function generateAll(): Promise<GeneratedFile[]> {
  const renderSvg = await createSvgRenderer();
  const files: GeneratedFile[] = [];
  for (const file of await findMachineFiles()) {
    const name = path.basename(file, MACHINE_SUFFIX);
    const comment = `Generated from machines/${file} ${STAMP}`;
    const diagram = buildDiagram(await loadMachine(file));
    files.push({ path: `visualizations/${name}.mmd`, content: toMermaid(diagram, comment) });
    const svg = stampSvg(renderSvg(toDot(diagram)), comment);
    files.push({ path: `visualizations/${name}.svg`, content: svg });
  }
  return files;
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(path.join(ROOT, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Diagrams on disk that no machine produces any more (a machine was renamed or
 * removed). Only files carrying this script's "Generated from" stamp count, so
 * a hand-made picture put in the folder is never reported or deleted.
 */
async function findStaleFiles(expected: readonly GeneratedFile[]): Promise<string[]> {
  const wanted = new Set(expected.map((file) => file.path));
  const stale: string[] = [];
  for (const entry of (await readdir(OUTPUT_DIR)).sort()) {
    const file = `visualizations/${entry}`;
    if (!OUTPUT_EXTENSIONS.includes(path.extname(entry)) || wanted.has(file)) continue;
    if ((await readIfPresent(file))?.includes(STAMP)) stale.push(file);
  }
  return stale;
}

/** Lists every file that is missing, out of date or stale; returns how many there are. */
export async function check(expected: readonly GeneratedFile[]): Promise<number> {
  const problems: string[] = [];
  for (const file of expected) {
    const actual = await readIfPresent(file.path);
    if (actual === undefined) problems.push(`${file.path}: missing`);
    else if (actual !== file.content) problems.push(`${file.path}: differs from its machine`);
  }
  for (const file of await findStaleFiles(expected)) {
    problems.push(`${file}: no machine produces it any more`);
  }
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error('Diagrams are out of date: run `npx tsx visualizations/generate.ts`.');
  }
  return problems.length;
}

/** Writes the files that changed and removes stale ones. */
export async function write(expected: readonly GeneratedFile[]): Promise<void> {
  for (const file of expected) {
    // Leaving unchanged files alone keeps their timestamps, and so rebuilds, quiet.
    if ((await readIfPresent(file.path)) === file.content) continue;
    await writeFile(path.join(ROOT, file.path), file.content);
    console.log(`wrote ${file.path}`);
  }
  for (const file of await findStaleFiles(expected)) {
    await rm(path.join(ROOT, file));
    console.log(`removed ${file}`);
  }
}

async function main(args: readonly string[]): Promise<void> {
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: generate.ts [--check]`);
    process.exitCode = 2;
    return;
  }
  const expected = await generateAll();
  if (args.includes('--check')) {
    if ((await check(expected)) > 0) process.exitCode = 1;
    return;
  }
  await write(expected);
}

// Run only when executed, so the functions above can be imported (e.g. by tests).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
