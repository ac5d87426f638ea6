// Where a durable write's time goes: CPU profiles (node --cpu-prof) of durable-workload.mjs,
// each sample put in the bucket of the innermost frame that names a part, in µs per record.
// Usage: node bench/parts/durable-parts.mjs [--runs N] LABEL=BUILD_ROOT ...
// Each BUILD_ROOT holds a built dist/ (npm run build); runs alternate between them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKLOAD = join(dirname(fileURLToPath(import.meta.url)), 'durable-workload.mjs');

/**
 * Parts in table order; a frame names a part when its function's name matches. Names that
 * only older builds have (`uuidFrom`, Node's `randomUUID`) stay, so a before/after run buckets both alike.
 */
const PARTS = [
  ['payload check and its one serialization', /^(plainJsonText|assertPlainJson|isPlainJson)$/],
  [
    'other task checks (handler, key, id, unknown fields)',
    /^(validateDurableTask|optionalName|taskKind)$/,
  ],
  [
    'id (random UUID)',
    /^(randomId|uuidFromPool|uuidFrom|randomUUID|getBufferedUUID|randomFillSync|getRandomValues)$/,
  ],
  ['encoding the record (`encodeRecord`)', /^(encodeRecord|quoted|number|RegExp: .*)$/],
  ['`enqueue`, `accept`, group commit `add`', /^(enqueue|#enqueueDurable|accept|record|add)$/],
  [
    'commit end (admission to the lanes, flush waiters)',
    /^(settle|committed|admit|resolveFlushes|spill|keep)$/,
  ],
  [
    'lmdb `put` (its write instructions, the key and value buffers)',
    /^(put|writeInstructions|writeKey|executeTxnCallbacks|transaction|append)$/,
  ],
  ['garbage collection', /^\(garbage collector\)$/],
  ['idle (waiting for the commit and its fsync)', /^\(idle\)$/],
];
const REST = 'the rest (the loop, module loading, runtime)';

function parseArgs(argv) {
  let runs = 2;
  const builds = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else {
      const [label, root] = argv[i].split('=');
      if (!label || !root) throw new Error(`expected LABEL=BUILD_ROOT, got ${argv[i]}`);
      builds.push({ label, root });
    }
  }
  if (builds.length === 0)
    throw new Error('usage: durable-parts.mjs [--runs N] LABEL=BUILD_ROOT ...');
  return { runs, builds };
}

function partOf(name) {
  for (const [part, pattern] of PARTS) if (pattern.test(name)) return part;
  return undefined;
}

/** µs per record for each part, from one profile of `records` records. */
function bucket(profile, records) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const perSample = (profile.endTime - profile.startTime) / profile.samples.length;
  const parts = new Map();
  for (const [id, count] of counts) {
    let part;
    for (let at = id; at !== undefined && part === undefined; at = parent.get(at)) {
      part = partOf(byId.get(at).callFrame.functionName);
    }
    const name = part ?? REST;
    parts.set(name, (parts.get(name) ?? 0) + (count * perSample) / records);
  }
  return parts;
}

function profileOnce(root) {
  const dir = mkdtempSync(join(tmpdir(), 'xsw-prof-'));
  try {
    const out = execFileSync(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100', WORKLOAD, root],
      { encoding: 'utf8' },
    );
    const { records } = JSON.parse(out.trim().split('\n').at(-1));
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    return bucket(JSON.parse(readFileSync(join(dir, file), 'utf8')), records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { runs, builds } = parseArgs(process.argv.slice(2));
const sums = builds.map(() => new Map());
for (let run = 0; run < runs; run++) {
  builds.forEach(({ root }, i) => {
    for (const [part, us] of profileOnce(root)) sums[i].set(part, (sums[i].get(part) ?? 0) + us);
  });
}
const rows = [...PARTS.map(([part]) => part), REST];
console.log(
  `| part (µs per record, mean of ${runs} runs) | ${builds.map((b) => b.label).join(' | ')} |`,
);
console.log(`| --- | ${builds.map(() => '--:').join(' | ')} |`);
const total = builds.map(() => 0);
for (const part of rows) {
  const cells = sums.map((sum, i) => {
    const us = (sum.get(part) ?? 0) / runs;
    total[i] += us;
    return us.toFixed(2);
  });
  console.log(`| ${part} | ${cells.join(' | ')} |`);
}
console.log(`| **total** | ${total.map((us) => `**${us.toFixed(2)}**`).join(' | ')} |`);
